"""A little vehicle driven by a network of neurons (Braitenberg's vehicles, and one that learns).

world     the arena, obstacles, light and the two-wheeled vehicle with its sensors (mm, s)
loop      the network and the world stepped together in chunks (readings -> rates, spikes -> wheels)
learning  the learner: its network, its training by reward-modulated STDP, its score from held-out starts
vehicles  what `neurobox vehicle` runs: the hand-wired vehicles (model files vehicle_fear, vehicle_explorer),
          the learner or a vehicle model file, scored, drawn and (trained) saved
"""
