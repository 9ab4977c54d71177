"""The live board: the network as neuron boxes with LEDs in a browser.

`session.LiveBoard` runs a Network in short chunks and turns each chunk into a
frame (spikes, LED colours, membrane traces, weights); `server` streams the
frames over a WebSocket to the static page in `static/` and applies what
the page asks for (poke, sliders, speed, pause, step, reset, learning);
`replay` writes a self-contained HTML replay of a run; `demos` builds the
demo networks.
"""
