"""The engine: the process that owns TensorFlow, Keras, onnxruntime and LiteRT, beside the window.

``protocol`` (messages: JSON plus raw array buffers, every frame signed), ``server`` (requests
dispatched to ``handlers`` on the engine's own worker threads, streamed events, heartbeats),
``client`` (what the GUI and the CLI hold; an in-process transport for tests) and ``lifecycle``
(spawn, handshake, parent watch, restart). Never imports Qt. See docs/engine-protocol.md.
"""
