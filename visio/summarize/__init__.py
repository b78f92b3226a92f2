"""`visio summarize`: a real `pulumi preview` and its engine events (`events`) as a merge-request comment.
"""
