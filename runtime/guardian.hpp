// The guardian: a tiny process grace starts first that acts when grace
// cannot, after a SIGKILL (SPEC.md section 3, no orphans). It blocks on a
// pipe whose write end only grace holds; when the pipe closes while it is
// armed, it kills grace's instance cgroup (cgroup.kill, every component and
// everything they forked) or, without cgroups, the process groups grace
// told it of, and exits. A clean shutdown disarms it first.
#pragma once

#include <string>

namespace grace::runtime {

/// Starts the guardian for the instance cgroup directory `cgroup_dir` ("" =
/// process groups only). Call before any thread exists. False, with the
/// reason in `why`, if it could not be started.
bool start_guardian(const std::string& cgroup_dir, std::string* why);

/// From now on grace's death is acted on (call once grace knows it is the
/// only one on its log_dir: a refused second grace must not kill the
/// first's components).
void arm_guardian();

/// Grace stops cleanly: its death is no longer acted on.
void disarm_guardian();

/// The guardian's pid, or -1.
int guardian_pid();

/// Tells the guardian of a component's process group (without cgroups),
/// and that it is gone. No-ops without a guardian. Thread-safe.
void guardian_watch_group(int pgid);
void guardian_forget_group(int pgid);

} // namespace grace::runtime
