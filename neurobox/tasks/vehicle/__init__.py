"""A little vehicle driven by a network of neurons (Braitenberg's vehicles, and one that learns).

world     the arena, obstacles, light and the two-wheeled vehicle with its sensors (mm, s)
loop      the network and the world stepped together in chunks (readings -> rates, spikes -> wheels)
vehicles  the hand-wired vehicles (model files vehicle_fear, vehicle_explorer) and the learner's network
learning  the learner trained by reward-modulated STDP and scored from random starts
"""
