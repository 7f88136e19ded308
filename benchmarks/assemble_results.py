"""Assemble benchmarks/RESULTS.md from the per-topic result files.

Each file in ``benchmarks/results/`` is written by the benchmark that measured
it and states its own command, machine and date; this script only puts them in
one document, after the summary in ``benchmarks/results/summary.md``.

Usage: ``python benchmarks/assemble_results.py``
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "summary.md", "seed_scale_e5c7a11.md", "seed_scale_memory_8bcc35f.md", "scale_growth_c6d4895.md", "monitor_agreement_d5349b9.md", "seed_scale_memory_8dd85ed.md", "score_memory_d437b12.md", "score_teams_b427010.md", "seed_scale_aea5a1b.md", "seed_scale_b125749.md", "seed_scale_b47874a.md", "monitor_active_share_67870cd.md", "random_worlds_evaluation11_67870cd_capped60k.md", "random_worlds_evaluation11_ea8f299_capped60k.md", "replay_monitor_seed2026_hourly_67870cd.md", "monitor_hysteresis_21a4bd5.md", "monitor_update_0730a0a.md", "monitor_update_a2ed1f6.md", "replay_monitor_seed2026_b153e11.md", "monitor_update_ef04259.md", "monitor_kernels_ef04259.md", "replay_monitor_seed2026_f1fde3d.md",
    "seed_scale_ef04259.md",
    "monitor_update_71ca465.md", "replay_monitor_seed2026_be80e4a.md", "seed_scale_018b21a.md",
    "random_worlds_evaluation10_b54bcb1_uncapped.md", "random_worlds_evaluation10_b54bcb1_full3.md",
    "random_worlds_evaluation10_316afd0_uncapped.md", "random_worlds_evaluation10_316afd0_full.md", "monitor_update_b54bcb1.md",
    "quality_0e0f11a.md", "random_worlds_evaluation9_dbe8d61_uncapped.md", "random_worlds_evaluation9_c301a0e_capped60k.md", "random_worlds_evaluation9_c301a0e_full.md",
    "random_worlds_tuning_c301a0e_capped60k.md", "quality_c301a0e.md", "numba_cache_b007cb1.md", "monitor_update_dbe8d61.md",
    "seed_scale_dbe8d61.md", "score_share_10m.md", "replay_monitor_seed2026_b41e5ba.md", "monitor_graph_kernels.md", "random_worlds_evaluation8_08f0e17_capped60k.md", "random_worlds_tuning_08f0e17_capped60k.md", "quality_08f0e17.md",
    "random_worlds_evaluation7_b5f01fc_capped60k.md", "random_worlds_tuning_b5f01fc_capped60k.md", "quality_b5f01fc.md",
    "random_worlds_evaluation6_a5be007_capped60k.md", "random_worlds_evaluation6_a5be007_uncapped.md", "random_worlds_evaluation6_a5be007_full.md",
    "random_worlds_evaluation5_32bf9f6_capped60k.md", "random_worlds_evaluation5_fad15a0_full.md", "random_worlds_tuning_fad15a0_capped60k.md", "quality_fad15a0.md", "stage_memory_1019_full.md", "random_worlds_evaluation4_e95a7e2_capped60k.md", "random_worlds_tuning_e95a7e2_capped60k.md",
    "random_worlds_tuning_e7e7449_capped60k.md", "random_worlds_evaluation4_capped60k.md", "random_worlds_evaluation3_capped60k.md", "random_worlds_evaluation2_capped60k.md", "random_worlds_evaluation_capped60k.md",
    "scorer_training.md", "quality_4f67d0a.md", "quality.md", "quality_seed2.md", "quality_with_baselines.md", "seed_scale_edb5ea0.md", "seed_scale_4334fd9.md", "seed_scale_705053f.md", "scale_growth.md",
    "seed_scale_7981b26.md", "seed_scale_final.md", "seed_scale_29c898c.md",
    "replay_monitor_seed2026_4334fd9.md", "replay_monitor_eval5_fad15a0.md", "monitor_pairs_hash.md", "replay_monitor_seed2026.md", "monitor_agreement_7a3be72.md", "monitor_balance_cost_10m.md", "monitor_agreement_ea01319.md", "monitor_agreement.md", "spark_engine_1m_4f67d0a.md", "spark_engine_1m.md", "spark_engine_10m.md", "spark_graph_diff_1m.md", "spark_cluster_1m.md", "spark_engine_1m_800b44d.md", "quality_seed1.md", "replay.md", "replay_feb.md",
    "scaling.md",
    "stage_memory.md", "seed2026_full.md", "micro.md", "minhash.md", "seed2026_prompts.md", "sample_cap.md", "synth.md",
    "random_worlds.md", "random_worlds_generation.md", "refactor_identity.md", "side_by_side.md", "import_time.md",
    "bad_input.md", "fuzz_campaign.md", "hub_load.md",
]


def main() -> None:
    parts = []
    # every result file goes in: the known ones in reading order, any other after them by name
    extra = sorted(p.name for p in (HERE / "results").glob("*.md") if p.name not in ORDER)
    for name in ORDER + extra:
        p = HERE / "results" / name
        if p.exists():
            text = p.read_text().strip()
            if name != "summary.md":
                # demote the file's headings one level under its own section
                text = "\n".join("##" + line if line.startswith("#") else line for line in text.splitlines())
                text = f"## From `benchmarks/results/{name}`\n\n{text}"
            parts.append(text)
    (HERE / "RESULTS.md").write_text("\n\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
