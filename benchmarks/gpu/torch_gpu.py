"""What the PyTorch baselines of the GPU command share (torch_matmul.py, torch_adam_mlp.py,
torch_linalg.py): the log on stderr, PyTorch set to float32 on CUDA with TF32 off (the precision
tapegrad's WGSL kernels compute in), a name for the device, the wait for the GPU, and the report
printed as JSON and written to --out."""
import datetime
import json
import sys
import time

import torch


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def float32_device(script, device="cuda"):
    """The torch.device to time on, with TF32 off and its description; exits with status 2 where
    CUDA is asked for and absent."""
    if device == "cuda" and not torch.cuda.is_available():
        log(f"{script}: CUDA is not available")
        sys.exit(2)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    dev = torch.device(device)
    return dev, f"{device_name(dev)} (PyTorch {torch.__version__}, CUDA {torch.version.cuda})"


def device_name(dev):
    return torch.cuda.get_device_name(0) if dev.type == "cuda" else "CPU (dry run)"


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, reps=5):
    """One warm-up call, then `reps` calls, each waited for: milliseconds per call."""
    fn()
    sync()
    ms = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        ms.append((time.perf_counter() - t) * 1000)
    return ms


def report(what, device, out_file, **fields):
    """Prints the report as JSON on stdout and writes it to out_file (if given)."""
    out = {"what": what, "device": device, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(), **fields}
    text = json.dumps(out, indent=1, ensure_ascii=False)
    print(text)
    if out_file:
        with open(out_file, "w", encoding="utf-8") as f:
            f.write(text + "\n")
