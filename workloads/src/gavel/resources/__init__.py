"""The Region and Drop resources as typed models. Pure.

One model per resource part (spec, status, their nested objects), read at the edges: the
operator's kopf handlers, ``gavel drops open``'s manifest reader and the CLI parse a resource
once and pass the model on. The same models are the source of the CRDs' schema
(:mod:`gavel_operator.crds` converts them), so a default, a range or a CEL rule is written once,
beside its field. Workloads read Drop manifests too, which is why the models live here and not
in the operator.
"""
