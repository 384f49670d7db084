"""What the PyTorch references of the examples share with examples/lib/: the seeded split
(mulberry32 and the same Fisher-Yates shuffle as examples/lib/split.ts, so both sides train and
test on the very same items), the npm packages' data read from node_modules, and the timing record.
"""
import json
import os
import sys
import datetime
import platform

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NODE_MODULES = os.path.join(ROOT, "node_modules")
M32 = 0xFFFFFFFF


def mulberry32(seed):
    a = seed & M32

    def imul(x, y):
        return (x * y) & M32

    def next_float():
        nonlocal a
        a = (a + 0x6D2B79F5) & M32
        t = imul(a ^ (a >> 15), 1 | a)
        t = ((t + imul(t ^ (t >> 7), 61 | t)) & M32) ^ t
        return ((t ^ (t >> 14)) & M32) / 4294967296

    return next_float


def shuffled(n, seed):
    r = mulberry32(seed)
    out = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int(r() * (i + 1))
        out[i], out[j] = out[j], out[i]
    return out


def split_indices(n, held_out, seed):
    order = shuffled(n, seed)
    return order[: n - held_out], order[n - held_out :]


def package_file(*parts):
    path = os.path.join(NODE_MODULES, *parts)
    if not os.path.exists(path):
        sys.exit(f"{path} is missing: run npm install first")
    return path


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def timing_record(workload, what, ms_list, cpu_ms_list, note=""):
    """A record for benchmarks/suites/workloads.ts: the median wall-clock and CPU (process) times of
    one unit of work; on a loaded machine the CPU time is the fairer figure."""
    s = sorted(ms_list)
    c = sorted(cpu_ms_list)
    import torch

    return {
        "cpu": {"medianMs": c[len(c) // 2], "minMs": c[0], "maxMs": c[-1]},
        "workload": workload,
        "impl": "pytorch",
        "unit": what,
        "medianMs": s[len(s) // 2],
        "minMs": s[0],
        "maxMs": s[-1],
        "reps": len(s),
        "device": f"{cpu_name()} ({os.cpu_count()} cores), torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads",
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "note": note,
    }


def write_json(path, records):
    if path:
        with open(path, "w") as f:
            json.dump(records, f, indent=1)
        log(f"wrote {path}")


def stratified_split(labels, fraction, seed):
    """examples/lib/split.ts stratifiedSplit: per class, a shuffle (seed + class), the first part to train on."""
    train, held_out = [], []
    for k in sorted(set(labels)):
        members = [i for i, l in enumerate(labels) if l == k]
        order = shuffled(len(members), seed + k)
        n_train = int(len(members) * fraction + 0.5)
        for r, j in enumerate(order):
            (train if r < n_train else held_out).append(members[j])
    return sorted(train), sorted(held_out)
