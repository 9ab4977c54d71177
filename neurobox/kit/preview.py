"""A rendered preview of a case (neurobox.kit.case): its parts exploded upwards, shaded, seen from the front
(the dendrite openings) and from the back (axon, reward or bus), headless (matplotlib's mplot3d)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

EXPLODE_MM = 14.0
"""How far the lid is lifted off the base in the picture (and the diffuser off the lid), mm."""
LIGHT = np.array([-0.35, -0.6, 0.72])
"""Direction towards the light (from the front left, above)."""
COLOURS = {"base": "#5d6d7e", "lid": "#aeb6bf", "diffuser": "#f4f6f6"}
"""Colour of each part."""
VIEWS = (("front", 22.0, -58.0), ("back", 22.0, 122.0))
"""The two views: name, elevation and azimuth (degrees)."""
MAX_EDGE_MM = 6.0
"""Triangles are split to edges this long at most: mplot3d paints whole triangles back to front by their
centres, which goes wrong for long thin ones."""


def _towards(elev: float, azim: float) -> np.ndarray:
    """Unit vector from the scene towards the camera of mplot3d's view_init(elev, azim) (degrees)."""
    e, a = np.radians(elev), np.radians(azim)
    return np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])


def _shaded(mesh, colour: str, light: np.ndarray) -> np.ndarray:
    """RGBA per triangle: the part's colour darkened by how much the triangle faces away from the light."""
    from matplotlib.colors import to_rgb

    lambert = np.clip(mesh.face_normals @ (light / np.linalg.norm(light)), 0.0, 1.0)
    shade = 0.45 + 0.55 * lambert
    rgb = np.outer(shade, to_rgb(colour))
    return np.column_stack([rgb, np.ones(len(rgb))])


def _split(mesh):
    """The mesh with its triangles split to edges of MAX_EDGE_MM at most."""
    import trimesh

    vertices, faces = trimesh.remesh.subdivide_to_size(mesh.vertices, mesh.faces, MAX_EDGE_MM)
    return trimesh.Trimesh(vertices, faces, process=False)


def draw_case(name: str, outer: tuple[float, float, float], meshes: dict, path: Path) -> Path:
    """Draw the parts `meshes` (part name -> trimesh in assembled position, mm) of the case `name` of outer
    size `outer` (mm) and write the PNG to `path`."""
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    from neurobox.viz import style
    from neurobox.viz.figure import save_figure

    fine = {part: _split(mesh) for part, mesh in meshes.items()}
    fig = style.figure(1, len(VIEWS), width="full", height=3.4, subplot_kw={"projection": "3d"})[0]
    lifts = {"base": 0.0, "lid": EXPLODE_MM, "diffuser": 2 * EXPLODE_MM}
    top = outer[2] + 2 * EXPLODE_MM
    for ax, (view, elev, azim) in zip(fig.axes, VIEWS):
        light = LIGHT if view == "front" else LIGHT * np.array([-1.0, -1.0, 1.0])
        eye = _towards(elev, azim)
        for part, mesh in fine.items():
            seen = mesh.face_normals @ eye > 0   # a closed solid's faces turned away are hidden
            tris = mesh.triangles[seen] + np.array([0.0, 0.0, lifts.get(part, 0.0)])
            rgba = _shaded(mesh, COLOURS.get(part, "#888888"), light)[seen]
            ax.add_collection3d(Poly3DCollection(tris, facecolors=rgba, edgecolors=rgba, linewidths=0.3))
        ax.set_xlim(-outer[0] / 2, outer[0] / 2)
        ax.set_ylim(-outer[1] / 2, outer[1] / 2)
        ax.set_zlim(0, top)
        ax.set_box_aspect((outer[0], outer[1], top))
        ax.view_init(elev=elev, azim=azim)
        ax.set_axis_off()
        ax.set_title(f"{view}", fontsize=style.FONT["label"])
    fig.suptitle(f"{name}: {outer[0]:.0f} x {outer[1]:.0f} x {outer[2]:.0f} mm (base, lid, diffuser)",
                 fontsize=style.FONT["title"])
    return save_figure(fig, path)
