"""The vehicle's world: a walled arena, round obstacles, a light, and a two-wheeled vehicle (plain numpy).

Units: lengths in mm, times in s (the network's chunks are given in ms and
converted), angles in radians counter-clockwise from the +x axis, wheel
speeds in mm/s.

Arena      a round pen: a wall on the circle of radius `radius` around
           (radius, radius), so x and y are in [0, 2 radius]. Round, because
           a corner traps a vehicle whose whiskers steer it (facing into a
           corner, both whiskers touch alike and any turn is undone).
Obstacles  discs (x, y, r). The light is a lamp in the floor: it is no
           obstacle and casts no shadows.
Vehicle    a disc of radius `body_radius` at (x, y) heading `theta`, with
           two wheels `axle` apart (differential drive): v = (v_l + v_r) / 2,
           omega = (v_r - v_l) / axle. Forward only: wheel speeds are in
           [0, max_speed].
Light      each light sensor sits on the body's edge at +-`sensor_angle`
sensors    from the heading (left = +) and looks outwards. Its reading is
           falloff(d) * (1 + cos psi) / 2, in [0, 1]: d the distance from the
           sensor to the light, falloff(d) = 1 / (1 + d / light_half_mm), psi
           the angle between the sensor's axis and the direction to the light.
Whiskers   a ray from the body's edge at +-`whisker_angle` from the heading,
           `whisker_mm` long; the reading is 1 - h / whisker_mm, where h is the
           distance along the ray to the first wall or obstacle (0 when none
           is within reach).
Moving     `move` integrates the wheel speeds over a chunk in sub-steps of at
           most `substep_s` (the heading at the sub-step's midpoint). A
           sub-step whose translation would make the body overlap a wall or
           an obstacle is not translated (the vehicle stops against it, its
           heading still turns): the chunk counts as one bump.
Reached    the vehicle's centre within `reach_mm` of the light.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from neurobox.errors import ConfigError

SENSORS = ("light_left", "light_right", "whisker_left", "whisker_right")
"""The readings a world gives each chunk, in this order (also the names of the sensor populations)."""


@dataclass(frozen=True)
class Arena:
    """The arena's size, obstacles and the vehicle's geometry (mm, rad, mm/s)."""

    radius: float = 500.0
    obstacles: tuple[tuple[float, float, float], ...] = ((330.0, 680.0, 70.0), (690.0, 330.0, 80.0),
                                                         (700.0, 760.0, 55.0))
    body_radius: float = 40.0
    axle: float = 80.0
    max_speed: float = 200.0
    sensor_angle: float = math.radians(45.0)
    light_half_mm: float = 300.0
    whisker_angle: float = math.radians(30.0)
    whisker_mm: float = 90.0
    reach_mm: float = 80.0
    substep_s: float = 0.005

    def check(self) -> "Arena":
        for name in ("radius", "body_radius", "axle", "max_speed", "light_half_mm", "whisker_mm",
                     "reach_mm", "substep_s"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"arena.{name}", f"must be a finite number > 0, got {v!r}")
        if self.radius <= 4 * self.body_radius:
            raise ConfigError("arena.radius", "the arena's radius must be more than four body radii")
        for k, ob in enumerate(self.obstacles):
            if len(ob) != 3 or not all(math.isfinite(float(v)) for v in ob) or ob[2] <= 0:
                raise ConfigError(f"arena.obstacles[{k}]", f"must be (x, y, r) with r > 0 in mm, got {ob!r}")
        return self


@dataclass
class Pose:
    """Where the vehicle is: centre (mm) and heading (rad)."""

    x: float
    y: float
    theta: float


@dataclass
class World:
    """An arena with a light and a vehicle in it; `step`-free: the loop calls `sense` and `move`."""

    arena: Arena
    pose: Pose
    light: tuple[float, float]
    bumps: int = 0
    obstacles: list[tuple[float, float, float]] = field(default_factory=list)

    def __post_init__(self):
        if not self.obstacles:
            self.obstacles = [tuple(map(float, ob)) for ob in self.arena.obstacles]

    # -- sensing -----------------------------------------------------------------------
    def light_distance(self) -> float:
        """Distance from the vehicle's centre to the light, mm."""
        return math.hypot(self.light[0] - self.pose.x, self.light[1] - self.pose.y)

    def reached(self) -> bool:
        return self.light_distance() <= self.arena.reach_mm

    def bearing(self) -> float:
        """Angle from the heading to the direction of the light, in (-pi, pi] (left = positive)."""
        a = math.atan2(self.light[1] - self.pose.y, self.light[0] - self.pose.x) - self.pose.theta
        return math.atan2(math.sin(a), math.cos(a))

    def light_reading(self, side: int) -> float:
        """Reading of the left (side = +1) or right (-1) light sensor, in [0, 1] (see the module docstring)."""
        a = self.arena
        axis = self.pose.theta + side * a.sensor_angle
        sx = self.pose.x + a.body_radius * math.cos(axis)
        sy = self.pose.y + a.body_radius * math.sin(axis)
        dx, dy = self.light[0] - sx, self.light[1] - sy
        d = math.hypot(dx, dy)
        cos_psi = 1.0 if d == 0.0 else (dx * math.cos(axis) + dy * math.sin(axis)) / d
        return (1.0 + cos_psi) / 2.0 / (1.0 + d / a.light_half_mm)

    def whisker_reading(self, side: int) -> float:
        """Reading of the left (+1) or right (-1) whisker, in [0, 1] (see the module docstring)."""
        a = self.arena
        axis = self.pose.theta + side * a.whisker_angle
        ux, uy = math.cos(axis), math.sin(axis)
        ox, oy = self.pose.x + a.body_radius * ux, self.pose.y + a.body_radius * uy
        hit = ray_hit(ox, oy, ux, uy, a.radius, self.obstacles)
        return max(0.0, 1.0 - hit / a.whisker_mm)

    def sense(self) -> dict[str, float]:
        """Every reading, keyed as SENSORS."""
        return {"light_left": self.light_reading(1), "light_right": self.light_reading(-1),
                "whisker_left": self.whisker_reading(1), "whisker_right": self.whisker_reading(-1)}

    # -- moving ------------------------------------------------------------------------
    def blocked(self, x: float, y: float) -> bool:
        """Whether the body at (x, y) would overlap a wall or an obstacle."""
        r, big = self.arena.body_radius, self.arena.radius
        if (x - big) ** 2 + (y - big) ** 2 > (big - r) ** 2:
            return True
        return any((x - ox) ** 2 + (y - oy) ** 2 < (r + orad) ** 2 for ox, oy, orad in self.obstacles)

    def move(self, v_left: float, v_right: float, seconds: float) -> bool:
        """Drive with wheel speeds (mm/s, clipped to [0, max_speed]) for `seconds`; True when it bumped."""
        a = self.arena
        v_left = min(max(float(v_left), 0.0), a.max_speed)
        v_right = min(max(float(v_right), 0.0), a.max_speed)
        n = max(1, math.ceil(seconds / a.substep_s - 1e-9))
        h = seconds / n
        v, omega = (v_left + v_right) / 2.0, (v_right - v_left) / a.axle
        p = self.pose
        bumped = False
        for _ in range(n):
            mid = p.theta + omega * h / 2.0
            nx, ny = p.x + v * h * math.cos(mid), p.y + v * h * math.sin(mid)
            if self.blocked(nx, ny):
                bumped = True
            else:
                p.x, p.y = nx, ny
            p.theta = math.atan2(math.sin(p.theta + omega * h), math.cos(p.theta + omega * h))
        self.bumps += bumped
        return bumped

    # -- changes from outside (a dragged light or obstacle) -------------------------------
    def place_light(self, x: float, y: float) -> None:
        """Move the light to (x, y) mm (pulled back inside the arena)."""
        big = self.arena.radius
        dx, dy = float(x) - big, float(y) - big
        scale = min(1.0, big / max(math.hypot(dx, dy), 1e-9))
        self.light = (big + dx * scale, big + dy * scale)


def ray_hit(ox: float, oy: float, ux: float, uy: float, radius: float, obstacles) -> float:
    """Distance (mm) along the unit ray (ox, oy) + t (ux, uy), t >= 0, to the first wall of the round arena
    (radius `radius` around (radius, radius)) or obstacle disc (x, y, r); 0 when the origin is already
    outside the arena or inside an obstacle."""
    fx, fy = ox - radius, oy - radius
    c = fx * fx + fy * fy - radius * radius
    if c > 0.0:
        return 0.0
    b = fx * ux + fy * uy
    best = -b + math.sqrt(b * b - c)
    for cx, cy, r in obstacles:
        fx, fy = ox - cx, oy - cy
        c = fx * fx + fy * fy - r * r
        if c <= 0.0:
            return 0.0
        b = fx * ux + fy * uy
        disc = b * b - c
        if b < 0.0 and disc >= 0.0:
            best = min(best, -b - math.sqrt(disc))
    return best


def random_world(arena: Arena, seed: int, *, light: tuple[float, float] | None = None,
                 min_distance: float = 400.0) -> World:
    """A world with the vehicle at a random free pose and heading, at least `min_distance` mm from the light;
    the light at `light`, or at a random place clear of the obstacles. Drawn from the world's own stream
    (numpy's default generator seeded with [seed, 7]): the same seed gives the same world."""
    rng = np.random.default_rng([int(seed), 7])
    base = World(arena, Pose(0.0, 0.0, 0.0), (0.0, 0.0))
    margin = arena.body_radius + 20.0
    for _ in range(10_000):
        if light is None:
            lx, ly = rng.uniform(margin, 2 * arena.radius - margin, 2)
            if base.blocked(lx, ly) or any(math.hypot(lx - ox, ly - oy) < r + arena.reach_mm + margin for ox, oy, r in arena.obstacles):
                continue
        else:
            lx, ly = light
        x, y = rng.uniform(margin, 2 * arena.radius - margin, 2)
        theta = rng.uniform(-math.pi, math.pi)
        if base.blocked(x, y) or any(math.hypot(x - ox, y - oy) < r + margin for ox, oy, r in arena.obstacles):
            continue
        if math.hypot(lx - x, ly - y) < min_distance:
            continue
        return World(arena, Pose(float(x), float(y), float(theta)), (float(lx), float(ly)))
    raise ConfigError("arena", "no free start pose found; make the arena larger or the obstacles fewer")
