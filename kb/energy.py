"""Energy per answer: measured by RAPL or NVML counters where readable, else estimated from CPU time.

A meter's `start()` returns a reading function; calling it gives the Energy spent since start.
Every figure carries its method; estimates carry a low-high range.
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

POWERCAP = Path("/sys/class/powercap")
GRID_G_PER_KWH = 138.0  # Belgium, 2023 (Our World in Data, carbon intensity of electricity)
GRID_SOURCE = "Belgium 2023, Our World in Data (Ember)"

# Per-core power used by the estimate when the CPU's TDP is not known: the range of recent laptop
# and server parts (TDP / cores: 15 W / 4 cores = 3.75 W up to 280 W / 32 cores = 8.75 W), rounded.
WATTS_PER_CORE = (4.0, 9.0)
WATTS_SOURCE = "TDP per core of recent laptop and server CPUs (15 W/4 cores to 280 W/32 cores)"

# Known TDPs (watts, cores) by a substring of /proc/cpuinfo's model name.
KNOWN_TDP = {
    "EPYC 7B13": (240.0, 64),
    "EPYC 9B14": (360.0, 96),
    "Xeon(R) Platinum 8481C": (350.0, 56),
    "Core(TM) i7-1165G7": (28.0, 4),
    "Core(TM) i5-1135G7": (28.0, 4),
    "Apple M1": (20.0, 8),
}

REFERENCES = [
    ("ChatGPT request", 2.9, "IEA, Electricity 2024"),
    ("Web search (Google)", 0.3, "IEA, Electricity 2024"),
    ("Median Gemini text prompt", 0.24, "Google, Measuring the environmental impact of AI inference (2025)"),
    ("GPT-4o query", 0.3, "Epoch AI, How much energy does ChatGPT use? (2025)"),
]


# What an answer's energy is worth in things people can picture: (key, Wh per unit, unit, source).
EQUIVALENTS = [
    ("led_minutes", 10.0 / 60.0, "minute", "a 10 W LED bulb (about 800 lumens, the light of a former 60 W incandescent bulb)"),
    ("phone_charge_share", 15.0, "charge", "a smartphone battery of 15 Wh (4,000 mAh at 3.85 V), one full charge"),
    ("ev_metres", 0.17, "metre", "an electric car using 170 Wh per km (the rated consumption of a typical compact electric car)"),
]

# Energy classes per answer, EU-label style, bounded by the published per-request figures the panel quotes:
# A up to a tenth of a web search, B up to a web search (0.3 Wh), C up to a ChatGPT request (2.9 Wh), D up to ten.
LABELS = [("A", 0.03), ("B", 0.3), ("C", 2.9), ("D", 29.0), ("E", float("inf"))]
LABELS_SOURCE = "IEA, Electricity 2024: 0.3 Wh per web search, 2.9 Wh per ChatGPT request"


def equivalents(wh: float) -> list[dict]:
    """The answer's energy as minutes of an LED bulb, a share of a phone charge and metres of an electric car."""
    return [{"key": key, "amount": round(wh / per_unit, 6), "unit": unit, "wh_per_unit": round(per_unit, 6), "source": source}
            for key, per_unit, unit, source in EQUIVALENTS]


def energy_classes() -> list[dict]:
    """The classes A to E with their bounds in Wh (the last has no upper bound) and the source of those bounds."""
    out, lower = [], 0.0
    for name, upper in LABELS:
        out.append({"class": name, "from_wh": lower, "to_wh": None if upper == float("inf") else upper, "source": LABELS_SOURCE})
        lower = upper
    return out


def energy_label(wh: float) -> dict:
    """The answer's class, A (at most a tenth of a web search) to E (over ten ChatGPT requests), with its bounds."""
    return next(c for c in energy_classes() if c["to_wh"] is None or wh <= c["to_wh"])


@dataclass(frozen=True)
class Energy:
    """Energy of one measured span."""

    joules: float
    joules_low: float
    joules_high: float
    method: str
    cpu_seconds: float
    detail: str = ""

    @property
    def wh(self) -> float:
        return self.joules / 3600.0

    def __add__(self, other: Energy) -> Energy:
        """Both spans together, labelled with how the later one was measured."""
        return Energy(self.joules + other.joules, self.joules_low + other.joules_low, self.joules_high + other.joules_high,
                      other.method, self.cpu_seconds + other.cpu_seconds, other.detail)

    def to_json(self, grid_g_per_kwh: float = GRID_G_PER_KWH) -> dict:
        wh = self.wh
        return {
            "joules": round(self.joules, 3),
            "wh": round(wh, 6),
            "wh_low": round(self.joules_low / 3600.0, 6),
            "wh_high": round(self.joules_high / 3600.0, 6),
            "method": self.method,
            "detail": self.detail,
            "cpu_seconds": round(self.cpu_seconds, 3),
            "gco2e": round(wh / 1000.0 * grid_g_per_kwh, 6),
            "grid": {"gco2e_per_kwh": grid_g_per_kwh, "source": GRID_SOURCE if grid_g_per_kwh == GRID_G_PER_KWH else "EVENTKB_GRID_GCO2E_PER_KWH"},
            "comparisons": comparisons(wh),
            "equivalents": equivalents(wh),
            "label": energy_label(wh),
        }


def comparisons(wh: float) -> list[dict]:
    """This answer's energy against the published per-request figures, each with its source."""
    return [
        {"label": label, "wh": ref, "source": source, "ratio": round(ref / wh, 1) if wh > 0 else None}
        for label, ref, source in REFERENCES
    ]


def cloud_total(answers: int, wh: float) -> dict:
    """Answers and the energy they used here, against what the same questions would have taken as ChatGPT requests."""
    label, per_request, source = REFERENCES[0]
    cloud = answers * per_request
    return {"answers": answers, "wh": round(wh, 6), "cloud_wh": round(cloud, 4), "cloud": label, "cloud_source": source,
            "ratio": round(cloud / wh, 1) if wh > 0 else None}


class Meter(Protocol):
    name: str

    def start(self) -> Callable[[], Energy]: ...


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class CpuTimeEstimate:
    """Estimate: CPU-seconds of this process times a per-core power range (labelled as an estimate)."""

    name = "estimate-cpu-time"

    def __init__(self, watts_per_core: tuple[float, float] = WATTS_PER_CORE, source: str = WATTS_SOURCE) -> None:
        self.low, self.high = watts_per_core
        self.source = source

    def start(self) -> Callable[[], Energy]:
        begin = _cpu_seconds()

        def read() -> Energy:
            cpu = max(0.0, _cpu_seconds() - begin)
            mid = (self.low + self.high) / 2
            detail = f"{cpu:.2f} CPU-s x {self.low:g}-{self.high:g} W per core ({self.source})"
            return Energy(cpu * mid, cpu * self.low, cpu * self.high, self.name, cpu, detail)

        return read


class RaplMeter:
    """Measured: Intel/AMD RAPL package and DRAM energy counters in sysfs, with wraparound."""

    name = "measured-rapl"

    def __init__(self, zones: list[Path]) -> None:
        self.zones = zones

    @staticmethod
    def _read(zone: Path) -> int:
        return int((zone / "energy_uj").read_text().strip())

    def start(self) -> Callable[[], Energy]:
        begin = [self._read(z) for z in self.zones]
        cpu = _cpu_seconds()

        def read() -> Energy:
            total_uj = 0
            for zone, first in zip(self.zones, begin):
                now = self._read(zone)
                if now < first:  # the counter wrapped around
                    now += int((zone / "max_energy_range_uj").read_text().strip())
                total_uj += now - first
            joules = total_uj / 1e6
            names = ", ".join((z / "name").read_text().strip() for z in self.zones)
            return Energy(joules, joules, joules, self.name, _cpu_seconds() - cpu, f"RAPL zones: {names} (whole machine, not only this process)")

        return read


def rapl_zones(root: Path = POWERCAP) -> list[Path]:
    """Readable top-level package zones and their DRAM subzones (psys and core/uncore are left out to avoid double counting)."""
    zones: list[Path] = []
    if not root.is_dir():
        return zones
    for zone in sorted(root.glob("intel-rapl:*")) + sorted(root.glob("amd-rapl:*")):
        if not re.fullmatch(r"(intel|amd)-rapl:\d+", zone.name):
            continue
        try:
            name = (zone / "name").read_text().strip()
            if not name.startswith("package"):
                continue
            int((zone / "energy_uj").read_text())
        except (OSError, ValueError):
            continue  # unreadable: root only since Linux 5.10
        zones.append(zone)
        for sub in sorted(zone.glob(f"{zone.name}:*")):
            try:
                if (sub / "name").read_text().strip() == "dram":
                    int((sub / "energy_uj").read_text())
                    zones.append(sub)
            except (OSError, ValueError):
                continue
    return zones


class NvmlMeter:
    """Measured: NVIDIA's total-energy counter (millijoules since driver load) for the GPUs in use."""

    name = "measured-nvml"

    def __init__(self, nvml, handles: list) -> None:
        self.nvml = nvml
        self.handles = handles

    def start(self) -> Callable[[], Energy]:
        begin = [self.nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self.handles]
        cpu = _cpu_seconds()

        def read() -> Energy:
            mj = sum(self.nvml.nvmlDeviceGetTotalEnergyConsumption(h) - b for h, b in zip(self.handles, begin))
            joules = mj / 1000.0
            return Energy(joules, joules, joules, self.name, _cpu_seconds() - cpu, f"NVML total energy of {len(self.handles)} GPU(s)")

        return read


def nvml_meter() -> NvmlMeter | None:
    """An NVML meter when pynvml and an NVIDIA driver are present, else None."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]
        for h in handles:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
    except Exception:  # no driver, no GPU, or a GPU without the counter: NVML raises its own error types
        return None
    return NvmlMeter(pynvml, handles) if handles else None


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def estimate_meter() -> CpuTimeEstimate:
    """The CPU-time estimate, with $EVENTKB_WATTS_PER_CORE ("5" or "4-9"), a known TDP, or the default range."""
    configured = os.environ.get("EVENTKB_WATTS_PER_CORE")
    if configured:
        low, _, high = configured.partition("-")
        return CpuTimeEstimate((float(low), float(high or low)), "EVENTKB_WATTS_PER_CORE")
    model = cpu_model()
    for key, (tdp, cores) in KNOWN_TDP.items():
        if key in model:
            per_core = tdp / cores
            return CpuTimeEstimate((per_core * 0.6, per_core), f"{key}: TDP {tdp:g} W / {cores} cores, 60-100 % of it")
    return CpuTimeEstimate()


def choose_meter(gpu: bool = False) -> Meter:
    """The best meter this machine allows: NVML when a GPU is used, RAPL when readable, else the estimate."""
    if gpu:
        meter = nvml_meter()
        if meter:
            return meter
    zones = rapl_zones()
    if zones:
        return RaplMeter(zones)
    return estimate_meter()


def grid_intensity() -> float:
    """gCO2e per kWh: $EVENTKB_GRID_GCO2E_PER_KWH, else Belgium 2023."""
    value = os.environ.get("EVENTKB_GRID_GCO2E_PER_KWH")
    return float(value) if value else GRID_G_PER_KWH


class FakeMeter:
    """A meter for tests: each span costs `joules`."""

    name = "fake"

    def __init__(self, joules: float = 36.0) -> None:
        self.joules = joules
        self.spans = 0

    def start(self) -> Callable[[], Energy]:
        self.spans += 1
        t = time.perf_counter()
        return lambda: Energy(self.joules, self.joules, self.joules, self.name, time.perf_counter() - t)
