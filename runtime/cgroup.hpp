// Containment in cgroup v2 (SPEC.md section 3): one cgroup per grace
// instance, named for its log_dir, under the cgroup grace runs in, and one
// per component under it, `<instance>/<component path>`. Every process a
// component forks belongs to its cgroup whatever it does (setsid, double
// fork), so stopping it ends with `cgroup.kill` and a restart waits until
// the cgroup is empty. CAF-free; the process actor and spawn() use it.
//
//   <mount><grace's own cgroup>/grace-<digest of log_dir>/root/api
//
// Where no writable cgroup v2 hierarchy exists (not root, a container
// without delegation), open() says why and grace keeps to process groups.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/unique_fd.hpp"

namespace grace::runtime {

/// Where the cgroup v2 hierarchy is mounted, read from `mountinfo`
/// (/proc/self/mountinfo: /sys/fs/cgroup on a unified host,
/// /sys/fs/cgroup/unified on a hybrid one); "" if it is not.
std::string cgroup2_mount(const std::string& mountinfo
                          = "/proc/self/mountinfo");

/// The cgroup v2 path of this process ("/system.slice/x.service"), from
/// /proc/self/cgroup; "" if it has none.
std::string own_cgroup();

/// Whether `controller` is bound to a cgroup v1 hierarchy, from the text
/// of /proc/self/cgroup ("4:memory:/x").
bool bound_to_cgroup_v1(const std::string& proc_cgroup,
                        const std::string& controller);

/// The `oom_kill` count in the text of a memory.events file; -1 if none.
std::int64_t oom_kills_in(const std::string& memory_events);

/// The pids in the cgroup directory `dir` (its cgroup.procs).
std::vector<int> cgroup_pids(const std::string& dir);

/// The pids in the cgroup behind directory descriptor `dirfd`.
std::vector<int> cgroup_pids_at(int dirfd);

/// The cgroups of one grace instance.
class containment {
public:
  /// Creates (or finds) the instance cgroup for `log_dir` under the cgroup
  /// grace runs in. Null, with the reason in `why`, where that cannot be
  /// done; grace then keeps to process groups. With `memory`, components'
  /// cgroups get the memory controller where grace's cgroup has it (and if
  /// grace is alone in a cgroup other than the root, grace moves into a
  /// leaf beside the instance, `<instance>.self`: a cgroup that gives
  /// controllers to those below it may hold no process).
  static std::shared_ptr<containment>
  open(const std::string& log_dir, std::string* why, bool memory = false);

  ~containment();
  containment(const containment&) = delete;
  containment& operator=(const containment&) = delete;

  /// The instance cgroup's directory.
  const std::string& dir() const noexcept { return dir_; }

  /// A directory descriptor of component `path`'s cgroup (for
  /// CLONE_INTO_CGROUP), made on first use and kept for the instance's
  /// life: a restart costs no mkdir. -1 (errno set) if it cannot be made.
  int component(const std::string& path);

  /// The directory of component `path`'s cgroup (whether it exists or not).
  std::string component_dir(const std::string& path) const;

  /// Which component of this instance the cgroup `cgroup` (a path as
  /// /proc/PID/cgroup gives it) belongs to: its path, or "" if none.
  std::string component_of(const std::string& cgroup) const;

  /// Cgroups an earlier grace on this log_dir left with processes in them:
  /// component path -> the pids found.
  std::map<std::string, std::vector<int>> leftovers() const;

  /// Removes the cgroups of components that are empty (at a clean stop).
  void remove_empty();

  /// Why components' cgroups have no memory controller (`limits.memory`,
  /// `oom_killed`); "" if they have it.
  const std::string& no_memory() const noexcept { return no_memory_; }

  /// At a clean exit, after remove_empty(): if open() moved grace out of its
  /// cgroup, the memory controller is given back and grace and the
  /// processes `also` (its guardian) move back, so that whoever starts
  /// grace next can place it there again.
  void give_back(const std::vector<int>& also);

private:
  std::string enable_memory(const std::string& parent);

  containment(std::string mount, std::string dir)
      : mount_(std::move(mount)), dir_(std::move(dir)) {}

  std::string mount_;
  std::string dir_;
  std::string no_memory_;
  std::string moved_to_; // grace's leaf, if open() moved it there
  std::mutex mutex_;
  std::map<std::string, unique_fd> components_;
};

/// Whether the cgroup behind directory descriptor `dirfd` holds a process.
bool cgroup_populated(int dirfd);

/// Kills every process in the cgroup behind `dirfd` and its descendants
/// (cgroup.kill). False (errno set) if that could not be asked. Some kernels
/// (seen on 6.18) then kill every child later cloned into that cgroup
/// (CLONE_INTO_CGROUP compares the kill count of the parent's cgroup with
/// the target's): call cgroup_renew_if_killed() once it is empty.
bool cgroup_kill(int dirfd);

/// Makes the cgroup behind `dirfd`, if cgroup_kill() killed it and it is
/// empty, anew under the same descriptor number (rmdir, mkdir, dup3). One
/// atomic load when no cgroup was killed.
void cgroup_renew_if_killed(int dirfd);

/// Sets memory.max of the cgroup behind `dirfd`. False (errno set) if it
/// could not.
bool cgroup_set_memory_max(int dirfd, std::uint64_t bytes);

/// How many processes the OOM killer has killed in the cgroup behind
/// `dirfd` (memory.events); -1 without the memory controller.
std::int64_t cgroup_oom_kills(int dirfd);

/// The directory of the cgroup behind `dirfd` ("" if unknown).
std::string cgroup_dir_of(int dirfd);

/// Removes the cgroup directory `dir` and the cgroups below it, deepest
/// first (each must be empty). Returns whether `dir` is gone.
bool remove_cgroup_tree(const std::string& dir);

/// Kills what is in the cgroup directory `dir` and waits until it is empty,
/// for at most `patience`. Returns whether it is empty.
bool cgroup_kill_and_wait(const std::string& dir,
                          std::chrono::milliseconds patience);

} // namespace grace::runtime
