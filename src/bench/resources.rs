//! CPU time and peak memory of the processes under test, read from Linux's `/proc`. Reading files
//! rather than calling `getrusage` lets the benchmark measure other processes (a server started
//! separately, worker children, PostgreSQL) and single threads of its own process.

use std::time::Duration;

/// `/proc` reports CPU time in clock ticks of `USER_HZ`, which is 100 on every Linux platform
/// Outhook targets.
const TICKS_PER_SECOND: u64 = 100;

/// The fields of `/proc/<pid>/stat` the benchmark uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub comm: String,
    pub parent: u32,
    /// User plus system time of the process (all its threads, including exited ones).
    pub cpu: Duration,
    /// User plus system time of its children that were waited for.
    pub children_cpu: Duration,
}

fn ticks(value: Option<&str>) -> Option<u64> {
    value?.parse().ok()
}

/// Parses one `stat` line. The command name is in parentheses and may itself contain spaces and
/// parentheses, so the fields are counted from the last `)`.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    let comm = line.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = line.get(close + 1..)?.split_whitespace().collect();
    // After the name: state (field 3), ppid (4), …, utime (14), stime (15), cutime (16), cstime (17).
    let at = |field: usize| fields.get(field - 3).copied();
    let parent = at(4)?.parse().ok()?;
    let cpu = ticks(at(14))? + ticks(at(15))?;
    let children_cpu = ticks(at(16))? + ticks(at(17))?;
    let duration = |ticks: u64| Duration::from_millis(ticks * 1000 / TICKS_PER_SECOND);
    Some(Stat { comm, parent, cpu: duration(cpu), children_cpu: duration(children_cpu) })
}

fn proc_path(pid: Option<u32>, file: &str) -> String {
    match pid {
        Some(pid) => format!("/proc/{pid}/{file}"),
        None => format!("/proc/self/{file}"),
    }
}

/// The `stat` of a process (`None`: this one).
pub fn stat(pid: Option<u32>) -> Option<Stat> {
    parse_stat(&std::fs::read_to_string(proc_path(pid, "stat")).ok()?)
}

/// Peak resident memory (`VmHWM`) of a process (`None`: this one), in bytes.
pub fn peak_rss_bytes(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(proc_path(pid, "status")).ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kilobytes: u64 = line.trim_start_matches("VmHWM:").trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kilobytes * 1024)
}

/// CPU time of this process's threads whose name starts with `prefix`. Only live threads
/// count, so the benchmark keeps its own threads alive for the whole run.
pub fn own_threads_cpu(prefix: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else { return Duration::ZERO };
    tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("stat")).ok())
        .filter_map(|line| parse_stat(&line))
        .filter(|stat| stat.comm.starts_with(prefix))
        .map(|stat| stat.cpu)
        .sum()
}

/// CPU time of a process and all its children, living or exited: how PostgreSQL's postmaster
/// and its backends are accounted.
pub fn process_tree_cpu(pid: u32) -> Option<Duration> {
    let root = stat(Some(pid))?;
    let children: Duration = std::fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| {
            let name = entry.ok()?.file_name();
            let child: u32 = name.to_str()?.parse().ok()?;
            stat(Some(child)).filter(|stat| stat.parent == pid).map(|stat| stat.cpu)
        })
        .sum();
    Some(root.cpu + root.children_cpu + children)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_parse_even_with_odd_command_names() {
        let line = "4242 (tokio (rt) w) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 130 7 3 20 0 4 0 1 2 3";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm, "tokio (rt) w");
        assert_eq!(stat.parent, 17);
        assert_eq!(stat.cpu, Duration::from_millis(3_800));
        assert_eq!(stat.children_cpu, Duration::from_millis(100));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn this_process_can_be_measured() {
        assert!(stat(None).is_some());
        assert!(peak_rss_bytes(None).is_some_and(|bytes| bytes > 0));
    }
}
