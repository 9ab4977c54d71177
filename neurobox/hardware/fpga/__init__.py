"""FPGA target: every neuron a fixed-point LIF cell with delay lines and on-cell pair STDP or
reward-modulated STDP, for Lattice iCE40.

    cell       the cell in Amaranth 0.5 (LifStdpCell), bit-exact with neurobox.hardware.unit.unit_tick;
               SynthTop and ChainTop for synthesis reports
    network    a whole board of cells wired together (NetworkTop) and its iverilog runner
    simulate   Verilog export, the Python reference, Amaranth-simulator and iverilog runners
    synth      yosys + nextpnr-ice40 runs and the figures parsed from their outputs
    build      `neurobox fpga build`: Verilog per unit and for the network, and the report
"""
