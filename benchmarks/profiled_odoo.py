"""``odoo-bin`` under cProfile, every thread profiled, their stats merged into one file.

``python -m cProfile`` profiles the main thread only, and the dialer runs each turn's transaction
on a thread of its own. Usage: ``python3 benchmarks/profiled_odoo.py OUTPUT [odoo-bin arguments]``.
"""

import cProfile
import pstats
import sys
import threading


def main():
    output, sys.argv = sys.argv[1], [sys.argv[0], *sys.argv[2:]]
    profiled = []  # (thread, its profile)
    lock = threading.Lock()
    run = threading.Thread.run

    def profiled_run(thread):
        profile = cProfile.Profile()
        with lock:
            profiled.append((thread, profile))
        profile.runcall(run, thread)

    threading.Thread.run = profiled_run
    from odoo.cli.command import main as odoo_main

    profile = cProfile.Profile()
    try:
        profile.runcall(odoo_main)
    finally:
        stats = pstats.Stats(profile)
        with lock:
            # a thread still running has a profile still enabled: left out
            for thread, thread_profile in profiled:
                if not thread.is_alive():
                    stats.add(thread_profile)
        stats.dump_stats(output)


if __name__ == "__main__":
    main()
