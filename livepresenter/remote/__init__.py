"""Remote GPU mode: FOMM served from one GPU machine (NVIDIA Triton through PyTriton) to lecturers' laptops.

`protocol` is what crosses the network, `server` the Triton side (its own environment: `scripts/setup.sh serve`),
`client` the laptop's side (tritonclient's gRPC stream). Face crops travel, as JPEG; nothing else does.
"""
