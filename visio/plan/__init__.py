"""`visio plan`: the real program under the Pulumi SDK's mock runtime (`mockrun`), charts expanded as
the Kubernetes provider expands them (`expand`), the configuration Pulumi's engine would hand the
program (`pulumiconfig`), then the schema check and the rule engine (`stackplan`).
"""
