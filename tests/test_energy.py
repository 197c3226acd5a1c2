"""Energy meters against fake sysfs trees and fake NVML counters; the estimate and its labels."""
from __future__ import annotations

import types

import pytest

from kb import energy
from kb.energy import CpuTimeEstimate, Energy, NvmlMeter, RaplMeter, comparisons, rapl_zones


def zone(root, name, label, uj, max_uj=262143328850, readable=True):
    path = root / name
    path.mkdir(parents=True)
    (path / "name").write_text(label + "\n")
    (path / "energy_uj").write_text(f"{uj}\n")
    (path / "max_energy_range_uj").write_text(f"{max_uj}\n")
    if not readable:
        (path / "energy_uj").chmod(0)
    return path


def test_rapl_finds_package_and_dram_zones_only(tmp_path):
    zone(tmp_path, "intel-rapl:0", "package-0", 1000)
    zone(tmp_path, "intel-rapl:0/intel-rapl:0:0", "core", 10)
    zone(tmp_path, "intel-rapl:0/intel-rapl:0:1", "dram", 20)
    zone(tmp_path, "intel-rapl:1", "psys", 5)
    names = [z.name for z in rapl_zones(tmp_path)]
    assert names == ["intel-rapl:0", "intel-rapl:0:1"]
    assert rapl_zones(tmp_path / "absent") == []


def test_rapl_measures_across_a_wraparound(tmp_path):
    pkg = zone(tmp_path, "intel-rapl:0", "package-0", 999_000_000, max_uj=1_000_000_000)
    dram = zone(tmp_path, "intel-rapl:0/intel-rapl:0:0", "dram", 5_000_000)
    read = RaplMeter([pkg, dram]).start()
    (pkg / "energy_uj").write_text("2000000\n")  # wrapped: 1 J to the top, then 2 J
    (dram / "energy_uj").write_text("6500000\n")
    spent = read()
    assert spent.joules == pytest.approx(3.0 + 1.5) and spent.method == "measured-rapl"
    assert spent.joules_low == spent.joules_high == spent.joules


def test_unreadable_rapl_falls_back_to_the_estimate(tmp_path, monkeypatch):
    import os

    if os.geteuid() == 0:
        # root reads any file: simulate the EACCES a normal user gets since Linux 5.10
        real = energy.Path.read_text

        def denied(self, *a, **k):
            if self.name == "energy_uj":
                raise PermissionError(13, "Permission denied")
            return real(self, *a, **k)

        monkeypatch.setattr(energy.Path, "read_text", denied)
    zone(tmp_path, "intel-rapl:0", "package-0", 1, readable=False)
    monkeypatch.setattr(energy, "POWERCAP", tmp_path)
    assert rapl_zones(tmp_path) == []
    monkeypatch.setattr(energy, "rapl_zones", lambda root=tmp_path: [])
    assert energy.choose_meter().name == "estimate-cpu-time"


def test_nvml_meter_reads_millijoules():
    counters = {"gpu0": 10_000, "gpu1": 50_000}
    fake = types.SimpleNamespace(nvmlDeviceGetTotalEnergyConsumption=lambda h: counters[h])
    read = NvmlMeter(fake, ["gpu0", "gpu1"]).start()
    counters["gpu0"] += 3_600_000  # 1 Wh
    counters["gpu1"] += 1_800_000
    spent = read()
    assert spent.wh == pytest.approx(1.5) and spent.method == "measured-nvml"


def test_estimate_is_a_labelled_range_from_cpu_time(monkeypatch):
    clock = iter([10.0, 14.0])
    monkeypatch.setattr(energy, "_cpu_seconds", lambda: next(clock))
    spent = CpuTimeEstimate((4.0, 9.0), "test").start()()
    assert spent.cpu_seconds == pytest.approx(4.0)
    assert (spent.joules_low, spent.joules, spent.joules_high) == pytest.approx((16.0, 26.0, 36.0))
    assert spent.method == "estimate-cpu-time" and "4-9 W per core" in spent.detail


def test_configured_watts_per_core(monkeypatch):
    monkeypatch.setenv("EVENTKB_WATTS_PER_CORE", "5-7")
    meter = energy.estimate_meter()
    assert (meter.low, meter.high) == (5.0, 7.0) and meter.source == "EVENTKB_WATTS_PER_CORE"
    monkeypatch.setenv("EVENTKB_WATTS_PER_CORE", "6")
    assert (energy.estimate_meter().low, energy.estimate_meter().high) == (6.0, 6.0)


def test_record_has_co2_and_sourced_comparisons(monkeypatch):
    record = Energy(36.0, 18.0, 54.0, "estimate-cpu-time", 4.0).to_json()
    assert record["wh"] == pytest.approx(0.01) and record["wh_low"] == pytest.approx(0.005)
    assert record["gco2e"] == pytest.approx(0.01 / 1000 * 138)
    labels = {c["label"]: c for c in record["comparisons"]}
    assert labels["ChatGPT request"]["wh"] == 2.9 and labels["ChatGPT request"]["ratio"] == pytest.approx(290.0)
    assert labels["Web search (Google)"]["wh"] == 0.3 and all(c["source"] for c in record["comparisons"])
    monkeypatch.setenv("EVENTKB_GRID_GCO2E_PER_KWH", "400")
    assert Energy(3600.0, 3600.0, 3600.0, "x", 0).to_json(energy.grid_intensity())["gco2e"] == pytest.approx(0.4)
    assert comparisons(0.0)[0]["ratio"] is None


def test_equivalents_people_can_picture():
    from kb.energy import equivalents

    by = {e["key"]: e for e in equivalents(0.17)}
    assert by["ev_metres"]["amount"] == pytest.approx(1.0) and by["led_minutes"]["amount"] == pytest.approx(1.02)
    assert by["phone_charge_share"]["amount"] == pytest.approx(0.17 / 15, rel=1e-3) and all(e["source"] for e in by.values())


@pytest.mark.parametrize("wh, expected", [(0.0, "A"), (0.013, "A"), (0.03, "A"), (0.031, "B"), (0.3, "B"), (2.9, "C"), (3.0, "D"), (29.0, "D"), (30.0, "E")])
def test_energy_classes_are_bounded_by_the_published_figures(wh, expected):
    from kb.energy import energy_label

    label = energy_label(wh)
    assert label["class"] == expected and "IEA" in label["source"]
    assert label["from_wh"] < wh <= (label["to_wh"] or float("inf")) or wh == 0.0


def test_every_energy_record_carries_its_class_and_equivalents():
    from kb.energy import Energy

    record = Energy(36.0, 30.0, 40.0, "estimate-cpu-time", 4.0).to_json()
    assert record["label"]["class"] == "A" and {e["key"] for e in record["equivalents"]} == {"led_minutes", "phone_charge_share", "ev_metres"}
