"""PBR (metallic-roughness) material values, from a material hint when one is known."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PBRMaterial:
    """glTF metallic-roughness values; the base colour itself comes from the baked texture."""

    name: str = "material"
    base_color_factor: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    metallic: float = 0.0
    roughness: float = 0.8
    double_sided: bool = False

    def __post_init__(self) -> None:
        for label, val in (("metallic", self.metallic), ("roughness", self.roughness)):
            if not 0.0 <= float(val) <= 1.0:
                raise ValueError(f"{label} must be within 0..1, got {val}")
        if len(self.base_color_factor) != 4 or not all(0.0 <= c <= 1.0 for c in self.base_color_factor):
            raise ValueError(f"base_color_factor must be 4 values in 0..1, got {self.base_color_factor}")


# hint keyword -> (metallic, roughness); the first keyword found in the hint wins
MATERIAL_PRESETS: dict[str, tuple[float, float]] = {
    "chrome": (1.0, 0.15),
    "gold": (1.0, 0.3),
    "silver": (1.0, 0.25),
    "copper": (1.0, 0.35),
    "brass": (1.0, 0.35),
    "steel": (1.0, 0.4),
    "iron": (1.0, 0.5),
    "aluminium": (1.0, 0.4),
    "aluminum": (1.0, 0.4),
    "metal": (1.0, 0.4),
    "glass": (0.0, 0.05),
    "ceramic": (0.0, 0.3),
    "porcelain": (0.0, 0.25),
    "plastic": (0.0, 0.45),
    "rubber": (0.0, 0.9),
    "leather": (0.0, 0.6),
    "wood": (0.0, 0.7),
    "stone": (0.0, 0.85),
    "concrete": (0.0, 0.9),
    "fabric": (0.0, 0.95),
    "cloth": (0.0, 0.95),
    "paper": (0.0, 0.9),
}
DEFAULT_METALLIC = 0.0
DEFAULT_ROUGHNESS = 0.8


def material_from_hint(hint: str | None = None, name: str = "material") -> PBRMaterial:
    """Metallic/roughness from a free-text hint ("wooden chair", "steel", ...), defaults otherwise."""
    text = (hint or "").lower()
    for key, (metallic, roughness) in MATERIAL_PRESETS.items():
        if key in text or (key == "wood" and "wooden" in text):
            return PBRMaterial(name=name, metallic=metallic, roughness=roughness)
    return PBRMaterial(name=name, metallic=DEFAULT_METALLIC, roughness=DEFAULT_ROUGHNESS)
