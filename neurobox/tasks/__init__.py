"""Working examples with their data and scoring (digits, XOR, reservoir computing...), and single-neuron probes."""
