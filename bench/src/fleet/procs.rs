//! What the kernel says about the fleet's processes (`/proc`): CPU seconds, parents, peak memory, so
//! PostgreSQL, HAProxy, the replicas and the simulator can each be charged what they used.

use std::time::Duration;

use crate::server;

/// The fields of `/proc/<pid>/stat` the fleet reads.
pub struct ProcStat {
    pub ppid: u32,
    /// utime + stime.
    pub cpu: Duration,
    /// cutime + cstime: children that exited and were waited for.
    pub children_cpu: Duration,
}

pub fn stat(pid: u32) -> Option<ProcStat> {
    // Clock ticks are 100 per second on every Linux this runs on (`getconf CLK_TCK`).
    const TICKS_PER_SECOND: u64 = 100;
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let num = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    let ticks = |t: u64| Duration::from_millis(t * 1000 / TICKS_PER_SECOND);
    Some(ProcStat {
        ppid: u32::try_from(num(1)?).ok()?,
        cpu: ticks(num(11)? + num(12)?),
        children_cpu: ticks(num(13)? + num(14)?),
    })
}

pub fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| stat(pid).is_some_and(|s| s.ppid == parent))
        .collect()
}

/// Peak resident memory (`VmHWM`) of a process, in kB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    server::memory_kb(pid).map(|(_, hwm)| hwm)
}

/// CPU seconds and peak RSS of a group of processes over a window: the figures the report prints.
#[derive(Clone, Copy, Default)]
pub struct Usage {
    pub cpu: Duration,
    pub peak_rss_kb: u64,
}

impl Usage {
    pub fn cpu_seconds(&self) -> f64 {
        self.cpu.as_secs_f64()
    }

    pub fn rss_mb(&self) -> f64 {
        self.peak_rss_kb as f64 / 1024.0
    }
}

/// Resets `VmHWM` of every process (Linux ≥ 4.0), so the next peak is the window's own.
pub fn reset_peaks(pids: &[u32]) {
    for &pid in pids {
        server::reset_peak_rss(pid);
    }
}

/// Summed peak RSS of the processes now, in kB (for PostgreSQL the shared buffers each process
/// touched count in each of them: an upper bound).
pub fn summed_peak_rss_kb(pids: &[u32]) -> u64 {
    pids.iter().filter_map(|&p| peak_rss_kb(p)).sum()
}

/// utime + stime summed over processes.
pub fn summed_cpu(pids: &[u32]) -> Duration {
    pids.iter().filter_map(|&p| stat(p).map(|s| s.cpu)).sum()
}

/// Busy CPU time of the whole machine so far (every process, this bench's and others'), from the
/// first line of /proc/stat: user + nice + system + irq + softirq + steal.
pub fn machine_busy() -> Duration {
    const TICKS_PER_SECOND: u64 = 100;
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let busy: u64 = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| ticks.get(i))
        .sum();
    Duration::from_millis(busy * 1000 / TICKS_PER_SECOND)
}

/// Proportional set size summed over processes, in kB: shared memory split among its users, so the
/// sum is what the group holds (smaps_rollup, Linux ≥ 4.14).
pub fn summed_pss_kb(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|&pid| {
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
                .ok()?
                .lines()
                .find_map(|l| l.strip_prefix("Pss:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .sum()
}
