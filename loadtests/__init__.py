"""How we prove Tailor: speed here, quality in quality/.

  bench.py, bench_command.py   `tailor bench`: Tailor against a transport floor server, side by side
  locustfile.py, loadgen.py    locust users and the open-loop load generator; payloads.py draws requests
  *_cost.py                    one cost each (policy, rules, overlays, experiments, the index) with its baseline
  variants.py                  serving architectures compared on one machine
  quality/                     `tailor evaluate` (accuracy on held-out splits) and the experiments report
"""
