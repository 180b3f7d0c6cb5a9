"""Print the stand-in chef-client's end-to-end time for a run with nothing to change.

A small cookbook of 10 resources (directory, files, a template, a custom
resource in unified mode with an inner file, execute with a creates guard,
guarded execute, ruby_block behind a not_if, log) is converged once to set it
up, then N more times; every later run changes nothing ("0/N resources
updated") and is timed end to end: process start, client.rb, ohai (the plugins
the stand-in runs), cookbook compile, converge, node save (local mode: the
repository layout on disk, no server).  Baselines measured in the same run:
`ruby -e 1` (interpreter start) and the same ohai collection alone, so the
engine's own overhead is the difference.  Target: under 3 s.

    .venv/bin/python bench/converge_engine.py [--runs N]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.standin_engine.repo import CHEF_CLIENT, ChefRepo  # noqa: E402

OHAI_ALONE = ("require 'ohai'; Ohai::Log.level = :fatal; s = Ohai::System.new; "
              "s.all_plugins(%w(" + " ".join([
                  "platform", "platform_version", "platform_family", "os", "os_version", "kernel", "hostname",
                  "machinename", "fqdn", "domain", "ipaddress", "ip6address", "macaddress", "network",
                  "init_package", "virtualization", "cpu", "memory"]) + "))")


def _cookbook(repo: ChefRepo, out: Path) -> None:
    repo.cookbook("bench", templates={"conf.erb": "<% @items.each do |i| -%>\nitem <%= i %>\n<% end -%>\n"},
                  resources={"pair": """
        unified_mode true
        provides :bench_pair
        property :path, String, name_property: true
        action :create do
          file new_resource.path do
            content 'pair'
          end
        end
        """}, recipes={"default": f"""
        directory '{out}'
        file '{out}/a' do
          content 'a'
          mode '0644'
        end
        file '{out}/b' do
          content lazy {{ 'b' }}
        end
        template '{out}/conf' do
          source 'conf.erb'
          variables(items: %w(x y))
        end
        bench_pair '{out}/pair'
        execute 'once' do
          command ['touch', '{out}/once']
          creates '{out}/once'
        end
        execute 'guarded' do
          command ['false']
          only_if 'test -f {out}/nonexistent'
        end
        ruby_block 'noop' do
          block {{ raise 'must not run' }}
          not_if {{ true }}
        end
        log 'bench'
        file '{out}/c' do
          content 'c'
        end
        """})


def _time(command: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="converge-bench-") as tmp:
        repo = ChefRepo(Path(tmp) / "repo")
        out = Path(tmp) / "out"
        _cookbook(repo, out)
        (repo.root / "first-boot.json").write_text('{"run_list": ["recipe[bench]"]}')
        command = [str(CHEF_CLIENT), "-z", "-c", str(repo.client_rb), "-j", str(repo.root / "first-boot.json")]
        _time(command)  # the first run creates everything
        runs, last = [], ""
        for _ in range(args.runs):
            elapsed, last = _time(command)
            runs.append(elapsed)
        finished = [line for line in last.splitlines() if line.startswith("Chef Infra Client finished")][0]
        if not finished.startswith("Chef Infra Client finished, 0/11 resources updated"):
            raise SystemExit(f"the timed runs were expected to change nothing: {finished}")
        ruby = statistics.median(_time(["ruby", "-e", "1"])[0] for _ in range(args.runs))
        ohai = statistics.median(_time(["ruby", "-e", OHAI_ALONE])[0] for _ in range(args.runs))
    converge = statistics.median(runs)
    print(f"stand-in converge, 10 resources (11 with the inner one), nothing to change; {args.runs} runs")
    print(f"  {finished}")
    print(f"  end to end        median {converge:.2f} s  (min {min(runs):.2f}, max {max(runs):.2f})")
    print(f"  ruby -e 1         median {ruby:.2f} s")
    print(f"  ohai alone        median {ohai:.2f} s  (the same plugins)")
    print(f"  engine overhead   {converge - ohai:.2f} s beyond ohai; converge/ohai = {converge / ohai:.1f}x")
    print(f"  target < 3 s: {'met' if converge < 3 else 'MISSED'}")
    return 0 if converge < 3 else 1


if __name__ == "__main__":
    sys.exit(main())
