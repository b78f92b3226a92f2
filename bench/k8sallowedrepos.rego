# Allowed repositories, as Gatekeeper's k8sallowedrepos template judges them: every container image
# of a pod spec must start with one of the listed repository prefixes (plain string prefixes).
# Written for the benchmark: data.parameters.repos holds the prefixes, input is one Kubernetes object.
package k8sallowedrepos

import rego.v1

template_kinds := {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"}

pod_spec := input.spec if input.kind == "Pod"

pod_spec := input.spec.template.spec if input.kind in template_kinds

pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

images contains [field, c.name, c.image] if {
	some field in ["containers", "initContainers", "ephemeralContainers"]
	some c in pod_spec[field]
}

permitted(image) if {
	some prefix in data.parameters.repos
	startswith(image, prefix)
}

violation contains msg if {
	some [field, name, image] in images
	not permitted(image)
	msg := sprintf("%s %s: %s image %s matches none of %v", [input.kind, name, field, image, data.parameters.repos])
}
