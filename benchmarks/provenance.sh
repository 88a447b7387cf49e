# Sourced by benchmarks/run and the benchmarks that save their own results: the lines every file under
# benchmarks/results starts with (commit, machine, load), and where a new result file goes.

# result_path NAME START: benchmarks/results/NAME-DAY.txt, or NAME-DAY-HHMM.txt when that exists.
result_path() {
  local day=${2%% *} dest
  dest="$ROOT/benchmarks/results/$1-$day.txt"
  [ -e "$dest" ] && dest="$ROOT/benchmarks/results/$1-$day-$(date -u +%H%M).txt"
  echo "$dest"
}

# commit_line PATH...: the commit, and whether the given paths had uncommitted changes.
commit_line() {
  local dirty
  dirty=$(git -C "$ROOT" status --porcelain -- "$@" | wc -l)
  echo "# commit $(git -C "$ROOT" rev-parse --short HEAD)$([ "$dirty" -gt 0 ] && echo " + uncommitted changes in $*")"
}

# machine_line LOAD_START LOAD_END: cores (getconf: nproc answers OMP_NUM_THREADS), CPU, memory, OS and the 1-minute load.
machine_line() {
  echo "# machine: $(getconf _NPROCESSORS_ONLN) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"); 1-minute load average $1 at start, $2 at end"
}
