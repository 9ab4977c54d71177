"""Local learning rules: the STDP family, reward-modulated STDP and weight normalisation (rules,
kernel), and the bit-exact pair rule the hardware runs (stdp_fixed)."""
