"""The demo's Splatoon-3-like world: abilities, AP levels, weapons and modes.

Token names follow SplatNLP: an ability that stacks is a family with AP-level tokens
(``swim_speed_up_21``; the config regex ``^(.*?)_\\d+$`` splits off the family), a main-only
ability is one token without a level (``respawn_punisher``).
"""

from __future__ import annotations

FAMILIES: tuple[str, ...] = (
    "ink_saver_main",
    "ink_saver_sub",
    "ink_recovery_up",
    "run_speed_up",
    "swim_speed_up",
    "special_charge_up",
    "special_saver",
    "special_power_up",
    "quick_respawn",
    "quick_super_jump",
    "sub_power_up",
    "ink_resistance_up",
    "sub_resistance_up",
    "intensify_action",
)
"""Abilities that stack; each is a family of AP-level tokens."""

AP_LEVELS: tuple[int, ...] = (3, 6, 12, 15, 21, 29, 38, 51, 57)
"""AP buckets of the level tokens: a build's AP in a family maps to the largest level <= it."""

MAIN_ONLY: tuple[str, ...] = (
    "comeback",
    "last_ditch_effort",
    "opening_gambit",
    "tenacity",
    "ninja_squid",
    "haunt",
    "thermal_ink",
    "respawn_punisher",
    "stealth_jump",
    "object_shredder",
    "drop_roller",
)
"""Abilities that only fit a main slot; one token each, no level."""

SPECIAL_TOKENS: tuple[str, ...] = ("<PAD>", "<NULL>")
"""Vocab entries that never occur in a build (as in SplatNLP's vocab)."""

MODES: tuple[str, ...] = ("turf_war", "splat_zones", "tower_control", "rainmaker", "clam_blitz")

# weapon -> (popularity weight, favourite ability families, favourite main-only abilities)
WEAPONS: dict[str, tuple[float, tuple[str, ...], tuple[str, ...]]] = {
    "splattershot": (3.0, ("swim_speed_up", "ink_saver_main"), ("ninja_squid", "comeback")),
    "splattershot_jr": (2.0, ("ink_saver_sub", "swim_speed_up"), ("comeback",)),
    "splattershot_pro": (1.2, ("ink_saver_main", "run_speed_up"), ("stealth_jump",)),
    "sploosh_o_matic": (1.5, ("swim_speed_up", "special_charge_up"), ("ninja_squid",)),
    "n_zap_85": (1.5, ("special_charge_up", "ink_saver_sub"), ("comeback", "tenacity")),
    "aerospray_mg": (0.8, ("special_charge_up", "special_saver"), ("tenacity",)),
    "52_gal": (1.0, ("ink_saver_main", "special_power_up"), ("comeback",)),
    "jet_squelcher": (0.6, ("ink_resistance_up", "run_speed_up"), ("object_shredder",)),
    "squeezer": (0.6, ("sub_power_up", "ink_saver_main"), ("thermal_ink",)),
    "splash_o_matic": (0.8, ("swim_speed_up", "ink_saver_sub"), ("opening_gambit",)),
    "hydra_splatling": (1.0, ("run_speed_up", "ink_saver_main"), ("respawn_punisher",)),
    "heavy_splatling": (1.2, ("run_speed_up", "special_charge_up"), ("respawn_punisher",)),
    "mini_splatling": (0.9, ("run_speed_up", "swim_speed_up"), ("comeback",)),
    "ballpoint_splatling": (0.6, ("run_speed_up", "ink_resistance_up"), ("haunt",)),
    "bloblobber": (0.8, ("special_charge_up", "special_power_up"), ("respawn_punisher",)),
    "explosher": (0.7, ("ink_recovery_up", "sub_power_up"), ("respawn_punisher",)),
    "slosher": (1.0, ("swim_speed_up", "ink_saver_main"), ("comeback",)),
    "tri_slosher": (1.3, ("swim_speed_up", "quick_super_jump"), ("ninja_squid",)),
    "glooga_dualies": (0.8, ("special_charge_up", "special_saver"), ("respawn_punisher",)),
    "dualie_squelchers": (1.0, ("special_charge_up", "quick_super_jump"), ("stealth_jump",)),
    "splat_dualies": (1.2, ("swim_speed_up", "intensify_action"), ("ninja_squid",)),
    "dark_tetra_dualies": (0.9, ("intensify_action", "quick_respawn"), ("stealth_jump",)),
    "e_liter_4k": (0.9, ("ink_recovery_up", "quick_super_jump"), ("respawn_punisher",)),
    "splat_charger": (1.1, ("ink_recovery_up", "sub_power_up"), ("respawn_punisher",)),
    "squiffer": (0.5, ("quick_respawn", "swim_speed_up"), ("comeback",)),
    "tri_stringer": (1.0, ("sub_power_up", "ink_saver_main"), ("respawn_punisher",)),
    "splat_roller": (1.0, ("quick_respawn", "special_saver"), ("stealth_jump",)),
    "dynamo_roller": (0.6, ("ink_saver_main", "ink_recovery_up"), ("last_ditch_effort",)),
    "carbon_roller": (1.2, ("quick_respawn", "intensify_action"), ("ninja_squid",)),
    "splat_brella": (0.7, ("sub_resistance_up", "special_power_up"), ("drop_roller",)),
    "luna_blaster": (1.0, ("quick_respawn", "swim_speed_up"), ("comeback",)),
    "range_blaster": (0.9, ("ink_saver_main", "ink_resistance_up"), ("thermal_ink",)),
    "octobrush": (0.8, ("intensify_action", "swim_speed_up"), ("ninja_squid",)),
    "inkbrush": (0.8, ("ink_saver_main", "run_speed_up"), ("last_ditch_effort",)),
}
"""The weapon column's values with how often they are played and what their builds favour."""


def vocab_names() -> list[str]:
    """Token names in id order: special tokens, family level tokens, main-only abilities."""
    names = list(SPECIAL_TOKENS)
    names += [f"{family}_{level}" for family in FAMILIES for level in AP_LEVELS]
    names += list(MAIN_ONLY)
    return names


FIRST_LEVEL_TOKEN = len(SPECIAL_TOKENS)
"""Token id of ``FAMILIES[0]_3``; family ``f`` at level index ``k`` is this + f * 9 + k."""
FIRST_MAIN_ONLY_TOKEN = FIRST_LEVEL_TOKEN + len(FAMILIES) * len(AP_LEVELS)
