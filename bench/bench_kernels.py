"""Large vectors: the kernel engine per step, in memory and at set-up, against hand numpy and JAX.

Run from a checkout with the package installed: ``python bench/bench_kernels.py``
(``--quick``: n = 10⁶ in sections 1 and 5; ``--big``: only section 4, which needs 20 GB available;
``--cli``: only section 5; ``--markdown FILE``: also write what it prints into FILE, for the documentation).

1. Per step at n = 10⁷ (best of several): f, ∇f, ‖∇f‖ and the gd update, for sum((x - 1)^2)
   and the chained Rosenbrock, by the kernel engine (numpy kernel on all threads and on one;
   the numba kernel if numba is installed), a hand-written numpy step (a full temporary per
   operation), numexpr on whole arrays and ``jax.jit`` of the same step (float64, x donated),
   each if importable. Ratios kernel / numpy, kernel / JAX, numba kernel / JAX.
2. Peak RSS of a child process that allocates x and runs steps: n = 10⁷ (gd, adam) and n = 10⁸
   (3 gd steps), against the budget 6 arrays of n float64 + 150 MB (+ 200 MB at 10⁸).
3. Set-up: time from the terms to the end of the first step at n = 10 and n = 10⁶, in fresh
   child processes, x allocated beforehand (budget: ratio ≤ 1.5).
4. ``--big``: n = 2·10⁹, sum(x^2), lr 0.1, 2 steps in a child: seconds per step and peak RSS (≤ 22 GB).
5. The command line: ``symdescent run`` per step (gd, momentum, adam) and peak RSS at n = 10⁷ next to the
   engine's figure, and the time to the first step at n = 10 and n = 10⁶.

``--fused``: only the memory-speed section (written to docs/performance/fused.md): the fused numba gd step
(kernels/fused.py) on sum((x-1)^2) at ``--sizes`` (10⁶, 10⁷, 10⁸), the chained Rosenbrock and softplus
(``sum(log(1 + exp(x)) - x/2)``: exp and log in the pass) at ``--rosenbrock-sizes`` (10⁶, 10⁷), against
numpy's memory-bound minimum ``x *= c; x @ x`` (one read-write pass and one read pass) and ``jax.jit`` of
the same steps in a ``lax.fori_loop`` (n ≤ 10⁷, if jax is installed: a reference for the bench only).
``--sizes 2e9 --rosenbrock-sizes ''`` is the 16 GB run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable

import numpy as np
import sympy as sp
from report import printed_as_markdown

from symdescent.kernels import BandTerm, compile_banded, max_threads, run_banded
from symdescent.kernels.jit import have_numba

a, b = sp.symbols("a b")
FUNCTIONS = {
    "sum((x-1)^2)": [BandTerm((a - 1) ** 2, {0: a})],
    "rosenbrock": [BandTerm(100 * (b - a**2) ** 2 + (1 - a) ** 2, {0: a, 1: b})],
    "sum(x^2)": [BandTerm(a**2, {0: a})],
    # exp and log in the pass: kernels/vector_math.py's, vectorised (the C library's went one entry at a time)
    "softplus": [BandTerm(sp.log(1 + sp.exp(a)) - a / 2, {0: a})],
}
LR = 1e-5
MB = 2**20


# -- hand-written numpy: what one would type, a full temporary per operation ------------------------


def numpy_square(x: np.ndarray, lr: float) -> tuple[float, float]:
    d = x - 1
    f = float(d @ d)
    g = 2 * d
    norm = float(np.sqrt(g @ g))
    x -= lr * g
    return f, norm


def numpy_rosenbrock(x: np.ndarray, lr: float) -> tuple[float, float]:
    x0, x1 = x[:-1], x[1:]
    t = x1 - x0**2
    u = 1 - x0
    f = float(np.sum(100 * t**2 + u**2))
    g = np.zeros_like(x)
    g[:-1] = -400 * x0 * t - 2 * u
    g[1:] += 200 * t
    norm = float(np.sqrt(g @ g))
    x -= lr * g
    return f, norm


HAND = {"sum((x-1)^2)": numpy_square, "rosenbrock": numpy_rosenbrock}


def numexpr_steps() -> dict[str, Callable] | None:
    """The same step with numexpr on whole arrays (one fused, threaded pass per expression; needs a gradient array)."""
    try:
        import numexpr as ne
    except ImportError:
        return None

    def square(x, lr, g):
        f = float(ne.evaluate("sum((x - 1)**2)"))
        norm = float(np.sqrt(ne.evaluate("sum(4*(x - 1)**2)")))
        ne.evaluate("x - lr*2*(x - 1)", out=x)
        return f, norm

    def rosen(x, lr, g):
        arrays = {"s0": x[:-1], "s1": x[1:], "head": g[1:], "g": g, "x": x, "lr": lr}
        f = float(ne.evaluate("sum(100*(s1 - s0**2)**2 + (1 - s0)**2)", local_dict=arrays))
        ne.evaluate("-400*s0*(s1 - s0**2) - 2*(1 - s0)", local_dict=arrays, out=g[:-1])
        g[-1] = 0
        ne.evaluate("head + 200*(s1 - s0**2)", local_dict=arrays, out=g[1:])
        norm = float(np.sqrt(ne.evaluate("sum(g*g)", local_dict=arrays)))
        ne.evaluate("x - lr*g", local_dict=arrays, out=x)
        return f, norm

    return {"sum((x-1)^2)": square, "rosenbrock": rosen}


def jax_steps() -> dict[str, Callable] | None:
    """The same step under ``jax.jit``, float64, x donated so XLA may update it in place."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def square(x):
        return jnp.sum((x - 1) ** 2)

    def rosen(x):
        return jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)

    def make(fun):
        def step(x, lr):
            f, g = jax.value_and_grad(fun)(x)
            return x - lr * g, f, jnp.sqrt(g @ g)

        return jax.jit(step, donate_argnums=0), jnp

    return {"sum((x-1)^2)": make(square), "rosenbrock": make(rosen)}


def best_time(step: Callable[[], object], repeats: int) -> float:
    step()  # warm up: scratch buffers, threads, jit
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return min(times)


def per_step(n: int, repeats: int) -> None:
    print(f"## 1. per gd step at n = {n:.0e} (ms, best of {repeats}); {max_threads()} threads available")
    print("kernel: numpy kernel, all threads; 1 thread: the same on one; numba: the optional numba kernel")
    head = ["kernel", "1 thread", "numba", "numpy", "numexpr", "jax.jit", "k/numpy", "k/jax", "numba/jax"]
    print(f"{'function':<14}" + "".join(f"{h:>10}" for h in head))
    for name in HAND:
        ms = [t * 1e3 for t in step_times(name, n, repeats)]
        kernel, _, numba, hand, _, jax = ms
        ratios = [kernel / hand, kernel / jax, numba / jax]
        print(f"{name:<14}" + "".join(f"{v:10.1f}" for v in ms) + "".join(f"{r:10.2f}" for r in ratios))


def step_times(name: str, n: int, repeats: int) -> list[float]:
    """Seconds per step: numpy kernel (all threads, one), numba kernel, hand numpy, numexpr, jax (nan if absent)."""
    x = np.full(n, 0.5)
    times = []
    for options in ({"backend": "numpy"}, {"backend": "numpy", "threads": 1}, {"backend": "numba"}):
        if options["backend"] == "numba" and not have_numba():
            times.append(float("nan"))
            continue
        kernel = compile_banded(FUNCTIONS[name], **options)
        times.append(best_time(lambda k=kernel: k.gd_step(x, LR), repeats))
        kernel.close()
    times.append(best_time(lambda: HAND[name](x, LR), repeats))
    nexpr = numexpr_steps()
    if nexpr is None:
        times.append(float("nan"))
    else:
        g = np.empty_like(x)
        times.append(best_time(lambda: nexpr[name](x, LR, g), repeats))
    jax = jax_steps()
    if jax is None:
        times.append(float("nan"))
    else:
        step, jnp = jax[name]
        state = {"x": jnp.full(n, 0.5)}

        def run_jax() -> None:
            state["x"], _, norm = step(state["x"], LR)
            norm.block_until_ready()

        times.append(best_time(run_jax, repeats))
    return times


def child(spec: dict) -> None:
    """In a fresh process: allocate x, time the set-up to the end of the first step, run, report peak RSS.

    With several ``backends`` the same x runs ``steps`` steps on each in turn (one allocation for all).
    """
    n, method, steps = spec["n"], spec["method"], spec["steps"]
    x = np.full(n, 0.5) if spec.get("fill", True) else np.ones(n)
    report: dict = {"runs": []}
    for backend in spec.get("backends", ["auto"]):
        if backend == "numba" and not have_numba():
            continue
        start, cpu = time.perf_counter(), time.process_time()
        function = compile_banded(FUNCTIONS[spec["function"]], backend=backend)
        rows = run_banded(function, x, method=method, lr=spec["lr"], steps=steps, tol=0)
        first = next(rows)
        run = {"backend": backend, "setup": time.perf_counter() - start, "setup_cpu": time.process_time() - cpu}
        times, last = [], time.perf_counter()
        for _ in rows:
            now = time.perf_counter()
            times.append(now - last)
            last = now
        run.update(first=first, step_times=times, used=function.last_backend)
        report["runs"].append(run)
        function.close()
    report["peak"] = peak_rss()
    print(json.dumps(report))


def peak_rss() -> int:
    """Peak resident memory of this process in bytes (VmHWM: unlike ru_maxrss, not inherited across exec)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def in_child(**spec) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(spec)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def memory() -> None:
    print("\n## 2. peak RSS in a child process (x allocated there)")
    print(f"{'n':>6} {'method':<8} {'kernel':<7} {'steps':>5} {'peak MB':>9} {'budget MB':>10}  verdict")
    cases = [(10**7, "gd", "numpy", 5, 150), (10**7, "adam", "numpy", 5, 150), (10**8, "gd", "numpy", 3, 200)]
    if have_numba():
        cases.append((10**8, "gd", "numba", 3, 200))
    for n, method, backend, steps, extra in cases:
        result = in_child(n=n, method=method, steps=steps, function="rosenbrock", lr=LR, backends=[backend])
        budget = 6 * 8 * n + extra * MB
        verdict = "ok" if result["peak"] <= budget else "OVER"
        print(f"{n:6.0e} {method:<8} {backend:<7} {steps:5d} {result['peak'] / MB:9.0f} {budget / MB:10.0f}  {verdict}")


def setup() -> None:
    print("\n## 3. set-up: terms -> end of the first step, fresh child, x allocated beforehand (best of 5)")
    wall, cpu = {}, {}
    for n in (10, 10**6):
        runs = [in_child(n=n, method="gd", steps=1, function="rosenbrock", lr=LR)["runs"][0] for _ in range(5)]
        wall[n], cpu[n] = min(r["setup"] for r in runs), min(r["setup_cpu"] for r in runs)
        print(f"n = {n:>7}: {wall[n] * 1e3:7.1f} ms wall, {cpu[n] * 1e3:7.1f} ms CPU")
    print(f"ratio n=10^6 / n=10: {wall[10**6] / wall[10]:.2f} wall, {cpu[10**6] / cpu[10]:.2f} CPU (budget 1.5)")


def big() -> None:
    available = available_memory()
    print(f"\n## 4. n = 2e9, sum(x^2), lr 0.1, 2 steps per kernel (available memory {available / 2**30:.1f} GB)")
    if available < 20 * 2**30:
        print("skipped: needs 20 GB available")
        return
    start = time.perf_counter()
    result = in_child(
        n=2 * 10**9, method="gd", steps=2, function="sum(x^2)", lr=0.1, fill=False, backends=["numpy", "numba"]
    )
    print(f"child process, allocation included: {time.perf_counter() - start:.1f} s")
    for run in result["runs"]:
        times = ", ".join(f"{t:.2f}" for t in run["step_times"])
        print(
            f"{run['used']:>6} kernel: first step with set-up {run['setup']:.2f} s, then {times} s per pass; "
            f"f(x_0) = {run['first'][1]:.6g}"
        )
    print(f"peak RSS {result['peak'] / 2**30:.2f} GB (budget 22 GB; x alone is {16 * 10**9 / 2**30:.2f} GB)")


def available_memory() -> int:
    """MemAvailable from /proc/meminfo (what can be allocated without swapping), in bytes."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


# -- 5. the same from the command line (what a user types) ---------------------------------------------------


def cli(args: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (bytes) and stdout of one ``symdescent run`` in a fresh child."""
    code = (
        "import resource, subprocess, sys, time, json\n"
        "t = time.perf_counter()\n"
        "p = subprocess.run(['symdescent', 'run', *json.loads(sys.argv[1])], capture_output=True, text=True)\n"
        "t = time.perf_counter() - t\n"
        "print(json.dumps([t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, p.stdout + p.stderr]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, check=True)
    wall, peak, text = json.loads(out.stdout)
    return wall, peak * 1024, text


def cli_level(quick: bool) -> None:
    n = 10**6 if quick else 10**7
    functions = {"sum((x-1)^2)": "sum((x-1)^2)", "rosenbrock": "sum(100*(x[i+1]-x[i]^2)^2 + (1-x[i])^2, i)"}
    print(f"\n## 5. command line: symdescent run F --start x=zeros(n) --lr 1e-5 --tol 0 -q, n = {n:.0e}")
    print("seconds per step = (wall at 10 steps − wall at 0 steps) / 10, best of 3; peak RSS at 10 steps")
    print(f"{'function':<14}{'method':<9}{'s/step':>9}{'ms/step kernel':>16}{'peak MB':>9}{'budget MB':>10}")
    for name, text in functions.items():
        for method in ("gd", "momentum", "adam"):
            base = [*map(str, [text, "--start", f"x=zeros({n})", "--lr", "1e-5", "--tol", "0", "-q"])]
            zero = min(cli([*base, "--steps", "0", "--method", method])[0] for _ in range(3))
            runs = [cli([*base, "--steps", "10", "--method", method]) for _ in range(3)]
            ten = min(r[0] for r in runs)
            engine = float("nan")
            if method == "gd":
                kernel, x = compile_banded(FUNCTIONS[name]), np.zeros(n)
                engine = 1e3 * best_time(lambda k=kernel, x=x: k.gd_step(x, LR), 3)
                kernel.close()
            budget = 6 * 8 * n + 150 * MB
            print(
                f"{name:<14}{method:<9}{(ten - zero) / 10:9.4f}{engine:16.1f}{max(r[1] for r in runs) / MB:9.0f}"
                f"{budget / MB:10.0f}"
            )
    print("\nset-up from the command line: wall of --steps 1 (parse, differentiate, generate, 1 step), best of 5")
    wall = {}
    for size in (10, 10**6):
        args = ["sum((x-1)^2)", "--start", f"x=zeros({size})", "--steps", "1", "--tol", "0", "-q"]
        wall[size] = min(cli(args)[0] for _ in range(5))
        print(f"n = {size:>7}: {wall[size] * 1e3:7.1f} ms")
    print(f"ratio n=10^6 / n=10: {wall[10**6] / wall[10]:.2f} (budget 1.5; includes allocating x and the step itself)")


# -- the fused step at memory speed (--fused) ----------------------------------------------------------------

JAX_MAX = 10**7  # jax keeps x, the gradient and temporaries: at 10⁸ that is several GB more than symdescent
FUSED_STEPS = 5  # steps per timing: symdescent calls gd_step 5 times, jax runs a fori_loop of 5


def numpy_minimum(x: np.ndarray, steps: int) -> None:
    """The least a step on x can cost in memory traffic by numpy: one read-write pass and one read pass."""
    for _ in range(steps):
        x *= 1.0
        float(x @ x)


def minimum_time(x: np.ndarray, repeats: int) -> float:
    """numpy's minimum, the faster of BLAS on its own threads and on one (on a busy machine BLAS threads wait)."""
    best = best_time(lambda: numpy_minimum(x, FUSED_STEPS), repeats)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return best
    with threadpool_limits(1, user_api="blas"):
        return min(best, best_time(lambda: numpy_minimum(x, FUSED_STEPS), repeats))


def jax_loop(name: str, n: int) -> Callable[[], None] | None:
    """FUSED_STEPS gd steps in one ``jax.jit`` of ``lax.fori_loop`` carrying x, f and ‖∇f‖ (x donated)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    fun = {
        "sum((x-1)^2)": lambda x: jnp.sum((x - 1) ** 2),
        "softplus": lambda x: jnp.sum(jnp.log(1 + jnp.exp(x)) - x / 2),
    }.get(name, lambda x: jnp.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2))

    def body(_, carry):
        x, _f, _norm = carry
        f, g = jax.value_and_grad(fun)(x)
        return x - LR * g, f, jnp.sqrt(g @ g)

    @jax.jit
    def steps(x):
        return jax.lax.fori_loop(0, FUSED_STEPS, body, (x, 0.0, 0.0))

    state = {"x": jnp.full(n, 0.5)}

    def run() -> None:
        state["x"], _, norm = steps(state["x"])
        norm.block_until_ready()

    return run


def fused_section(square_sizes: list[int], rosen_sizes: list[int], repeats: int) -> None:
    """sum((x-1)^2) at ``square_sizes``; the chained Rosenbrock and softplus, sum(log(1 + exp(x)) - x/2), at
    ``rosen_sizes``."""
    print(f"## fused gd step: ms per step, best of {repeats} runs of {FUSED_STEPS} steps; {max_threads()} threads")
    print("fused: symdescent's numba step (one pass: f, ∇f, ‖∇f‖, update); minimum: numpy `x *= c; x @ x`")
    print("(the faster of BLAS threaded and on one thread, as x @ x runs it)")
    print("jax: jax.jit of lax.fori_loop over the same steps (float64); first: the first step, compilation included")
    head = ["n", "fused", "minimum", "jax", "f/min", "f/jax", "first s"]
    print(f"{'function':<14}" + "".join(f"{h:>10}" for h in head))
    have_jax = jax_loop("sum((x-1)^2)", 1) is not None
    for name, sizes in (("sum((x-1)^2)", square_sizes), ("rosenbrock", rosen_sizes), ("softplus", rosen_sizes)):
        for n in sizes:
            x = np.full(n, 0.5)
            kernel = compile_banded(FUNCTIONS[name], backend="numba")
            start = time.perf_counter()
            kernel.gd_step(x, LR)
            first = time.perf_counter() - start
            ours = best_time(lambda k=kernel, x=x: [k.gd_step(x, LR) for _ in range(FUSED_STEPS)], repeats)
            assert kernel.last_fused
            kernel.close()
            floor = minimum_time(x, repeats)
            del x
            theirs = float("nan")
            jax = jax_loop(name, n) if n <= JAX_MAX else None
            if jax is not None:
                theirs = best_time(jax, repeats)
                del jax
            ms = [t * 1e3 / FUSED_STEPS for t in (ours, floor, theirs)]
            cells = [f"{n:10.0e}", *(f"{v:10.1f}" for v in ms), f"{ours / floor:10.2f}", f"{ours / theirs:10.2f}"]
            print(f"{name:<14}" + "".join(cells) + f"{first:10.2f}", flush=True)
    if not have_jax:
        print("jax not installed (pip install jax jaxlib: a reference for this bench, not a dependency)")
    print(f"peak RSS of this process: {peak_rss() / 2**30:.2f} GB")


def sizes_option(flag: str, default: str) -> list[int]:
    """``--sizes 1e6,1e7``: a list of lengths (an empty value: none)."""
    text = sys.argv[sys.argv.index(flag) + 1] if flag in sys.argv else default
    return [int(float(v)) for v in text.split(",") if v.strip()]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(json.loads(sys.argv[2]))
        return
    title = "The fused numba step at memory speed" if "--fused" in sys.argv else "Large vectors: the kernel engine"
    printed_as_markdown(__file__, title, sections)


def sections() -> None:
    quick = "--quick" in sys.argv
    print(f"numpy {np.__version__}, {os.cpu_count()} cores, SYMDESCENT_THREADS={os.environ.get('SYMDESCENT_THREADS')}")
    if "--big" in sys.argv:
        big()
        return
    if "--cli" in sys.argv:
        cli_level(quick)
        return
    if "--fused" in sys.argv:
        squares, rosens = sizes_option("--sizes", "1e6,1e7,1e8"), sizes_option("--rosenbrock-sizes", "1e6,1e7")
        fused_section(squares, rosens, 3 if quick else 7)
        return
    per_step(10**6 if quick else 10**7, 3 if quick else 15)
    memory()
    setup()
    cli_level(quick)


if __name__ == "__main__":
    main()
