// The control socket on its own: requests answered in order, the socket's
// mode and owner check, and clients that misbehave (too long a line, too
// slow, too many, gone before their answer) while others are served.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>
#include <vector>

#include <dirent.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/control_server.hpp"
#include "runtime/io_loop.hpp"
#include "tests/support/proc.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/unix_socket.hpp"
#include "tests/support/wait_until.hpp"

using namespace std::chrono_literals;
using grace::runtime::control_request;
using grace::runtime::control_server;

namespace {

// Connects to `path` (reads time out after 5 s); -1 on failure.
int dial(const std::string& path) {
  int fd = grace::test::dial(path);
  timeval tv{5, 0};
  if (fd >= 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

// Reads until the peer closes or a newline-terminated line arrives.
std::string read_line(int fd) {
  std::string out;
  char c;
  while (::read(fd, &c, 1) == 1) {
    out += c;
    if (c == '\n')
      break;
  }
  return out;
}

// This process's open descriptors.
std::size_t open_fds() {
  std::size_t n = 0;
  if (auto* d = ::opendir("/proc/self/fd")) {
    while (::readdir(d))
      ++n;
    ::closedir(d);
  }
  return n;
}

class ControlServer : public ::testing::Test {
protected:
  // Echoes each request as {"echo":<request>}; "slow" answers after 100 ms.
  std::unique_ptr<control_server> open(grace::runtime::control_limits lim
                                       = {}) {
    grace::failure error;
    auto s = control_server::open(
      io_, path_,
      [this](std::string line, control_server::reply_fn reply) {
        ++requests_;
        if (line == "slow") {
          // Answered later, from another thread (as actors do).
          answering_.emplace_back([reply] {
            std::this_thread::sleep_for(100ms);
            reply("{\"echo\":\"slow\"}", true);
          });
          return;
        }
        if (line == "flood") {
          // A stream without end, until its client is gone.
          answering_.emplace_back([this, reply] {
            for (int i = 0; i < 10'000'000 && reply("{\"n\":1}", false); ++i)
              ++flooded_;
            flood_over_ = true;
          });
          return;
        }
        if (line == "stream") {
          // Three lines, the last one closing the stream.
          for (int i = 1; i <= 3; ++i)
            reply("{\"n\":" + std::to_string(i) + "}", i == 3);
          return;
        }
        reply("{\"echo\":" + line + "}", true);
      },
      &error, lim);
    EXPECT_TRUE(s) << error.message;
    return s;
  }

  ~ControlServer() override {
    for (auto& t : answering_)
      t.join();
  }

  grace::test::temp_dir tmp_{"grace-ctl"};
  std::string path_ = tmp_.path() + "/grace.sock";
  grace::runtime::io_loop io_;
  std::atomic<int> requests_{0};
  std::atomic<int> flooded_{0};
  std::atomic<bool> flood_over_{false};
  std::vector<std::thread> answering_; // used on the I/O thread only
};

} // namespace

TEST_F(ControlServer, AnswersEachRequestLineInOrder) {
  auto server = open();
  std::string err;
  EXPECT_EQ(control_request(path_, "1", grace::test::patience(2s), &err),
            "{\"echo\":1}")
    << err;
  // Pipelined on one connection: answered in order, the slow one first.
  int fd = dial(path_);
  ASSERT_GE(fd, 0);
  std::string many = "slow\n2\n\n3\n";
  ASSERT_EQ(::write(fd, many.data(), many.size()),
            static_cast<ssize_t>(many.size()));
  EXPECT_EQ(read_line(fd), "{\"echo\":\"slow\"}\n");
  EXPECT_EQ(read_line(fd), "{\"echo\":2}\n");
  EXPECT_EQ(read_line(fd), "{\"echo\":3}\n");
  ::close(fd);
}

TEST_F(ControlServer, TheSocketIsTheOwnersOnly) {
  auto server = open();
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  if (::geteuid() != 0)
    GTEST_SKIP() << "needs root to try as another user";
  // Another user cannot even connect.
  auto pid = ::fork();
  if (pid == 0) {
    if (::setgid(65534) != 0 || ::setuid(65534) != 0)
      ::_exit(3);
    ::_exit(dial(path_) < 0 ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "nobody connected to a 0600 socket";
}

TEST_F(ControlServer, ALineTooLongIsRefusedAndOthersAreServed) {
  auto server = open();
  int fd = dial(path_);
  ASSERT_GE(fd, 0);
  std::string huge(100 * 1024, 'x');
  // The server may close before all of it is sent.
  (void)!::send(fd, huge.data(), huge.size(), MSG_NOSIGNAL);
  auto answer = read_line(fd);
  EXPECT_NE(answer.find("request too large"), std::string::npos) << answer;
  ::close(fd);
  std::string err;
  EXPECT_EQ(control_request(path_, "4", grace::test::patience(2s), &err),
            "{\"echo\":4}")
    << err;
  EXPECT_EQ(requests_.load(), 1) << "the long line never reached the handler";
}

TEST_F(ControlServer, ASlowClientIsDroppedWithoutHoldingOthersUp) {
  grace::runtime::control_limits lim;
  lim.idle = 300ms;
  auto server = open(lim);
  int slow = dial(path_);
  ASSERT_GE(slow, 0);
  ASSERT_EQ(::write(slow, "{", 1), 1); // and nothing more
  std::string err;
  EXPECT_EQ(control_request(path_, "5", grace::test::patience(2s), &err),
            "{\"echo\":5}")
    << err;
  auto answer = read_line(slow);
  EXPECT_NE(answer.find("no complete request in time"), std::string::npos)
    << answer;
  char c;
  EXPECT_EQ(::read(slow, &c, 1), 0) << "closed";
  ::close(slow);
}

TEST_F(ControlServer, AHundredClientsAtOnceAreServed) {
  auto server = open();
  std::vector<int> fds;
  for (int i = 0; i < 100; ++i) {
    fds.push_back(dial(path_));
    ASSERT_GE(fds.back(), 0);
  }
  for (int i = 0; i < 100; ++i) {
    auto line = std::to_string(i) + "\n";
    ASSERT_EQ(
      ::write(fds[static_cast<std::size_t>(i)], line.data(), line.size()),
      static_cast<ssize_t>(line.size()));
  }
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(read_line(fds[static_cast<std::size_t>(i)]),
              "{\"echo\":" + std::to_string(i) + "}\n");
    ::close(fds[static_cast<std::size_t>(i)]);
  }
}

TEST_F(ControlServer, AClientGoneBeforeItsAnswerHarmsNothing) {
  auto server = open();
  int fd = dial(path_);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "slow\n", 5), 5);
  ::close(fd);
  std::string err;
  EXPECT_EQ(control_request(path_, "6", grace::test::patience(2s), &err),
            "{\"echo\":6}")
    << err;
  EXPECT_TRUE(grace::test::wait_until([&] { return requests_ == 2; }));
}

TEST_F(ControlServer, AStaleSocketIsReplacedALiveOneRefused) {
  {
    auto first = open();
    grace::failure error;
    auto second = control_server::open(
      io_, path_, [](std::string, control_server::reply_fn) {}, &error);
    EXPECT_FALSE(second);
    EXPECT_EQ(error.code, grace::grace_errc::another_instance);
    EXPECT_NE(error.message.find("another grace answers there"),
              std::string::npos)
      << error.message;
  }
  EXPECT_FALSE(std::filesystem::exists(path_)) << "removed when closed";
  // A socket file nobody listens on (a grace that was killed).
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
  auto again = open();
  std::string err;
  EXPECT_EQ(control_request(path_, "7", grace::test::patience(2s), &err),
            "{\"echo\":7}")
    << err;
}

TEST_F(ControlServer, AStreamSendsLinesUntilItsLastThenServesTheNextRequest) {
  auto server = open();
  int fd = dial(path_);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "stream\n9\n", 9), 9);
  EXPECT_EQ(read_line(fd), "{\"n\":1}\n");
  EXPECT_EQ(read_line(fd), "{\"n\":2}\n");
  EXPECT_EQ(read_line(fd), "{\"n\":3}\n");
  EXPECT_EQ(read_line(fd), "{\"echo\":9}\n");
  ::close(fd);
  std::vector<std::string> lines;
  std::string err;
  ASSERT_TRUE(grace::runtime::control_stream(
    path_, "stream",
    [&](const std::string& l) {
      lines.push_back(l);
      return lines.size() < 3;
    },
    &err))
    << err;
  EXPECT_EQ(lines,
            (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}"}));
}

TEST_F(ControlServer, NobodyAnsweringIsAClearError) {
  std::string err;
  EXPECT_EQ(control_request(path_, "8", 1s, &err), "");
  EXPECT_NE(err.find("no grace answers at " + path_), std::string::npos) << err;
}

TEST_F(ControlServer, AThousandSilentConnectionsDoNotKeepOthersOut) {
  // Both ends live in this process: room for 1000 of each.
  ASSERT_GE(grace::test::raise_open_files(4096), 2300u)
    << "this host allows too few descriptors";
  auto server = open(); // at most 128 clients at once
  auto before = open_fds();
  std::vector<int> silent;
  for (int i = 0; i < 1000; ++i) {
    silent.push_back(dial(path_));
    ASSERT_GE(silent.back(), 0) << i;
  }
  std::string err;
  EXPECT_EQ(control_request(path_, "7", grace::test::patience(2s), &err),
            "{\"echo\":7}")
    << err;
  // (Accepted in order: all 1000 were before that answer.) The server kept
  // at most its 128, the longest idle going first.
  EXPECT_LE(open_fds(), before + 1000 + 128);
  char c;
  EXPECT_EQ(::read(silent.front(), &c, 1), 0) << "the first one was dropped";
  for (auto fd : silent)
    ::close(fd);
}

TEST_F(ControlServer, ARequestSentByteByByteIsAnswered) {
  auto server = open();
  int fd = dial(path_);
  ASSERT_GE(fd, 0);
  for (char c : std::string{"{\"a\":[1,2]}\n"})
    ASSERT_EQ(::write(fd, &c, 1), 1);
  EXPECT_EQ(read_line(fd), "{\"echo\":{\"a\":[1,2]}}\n");
  ::close(fd);
}

TEST_F(ControlServer, AStreamNobodyReadsIsDroppedAtItsBacklogInBytes) {
  grace::runtime::control_limits lim;
  lim.max_backlog = 1'000'000'000; // lines: no bound
  lim.max_backlog_bytes = 64 * 1024;
  auto server = open(lim);
  int fd = dial(path_);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "flood\n", 6), 6); // and never reads
  EXPECT_TRUE(grace::test::wait_until([&] { return flood_over_.load(); }))
    << flooded_.load() << " lines";
  EXPECT_LT(flooded_.load(), 1'000'000);
  ::close(fd);
}

TEST_F(ControlServer, AStreamNobodyReadsIsDroppedAtItsBacklog) {
  grace::runtime::control_limits lim;
  lim.max_backlog = 100;
  auto server = open(lim);
  int fd = dial(path_);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "flood\n", 6), 6); // and never reads
  std::string err;
  EXPECT_EQ(control_request(path_, "8", grace::test::patience(2s), &err),
            "{\"echo\":8}")
    << err;
  // Once the socket's buffers are full, 100 lines queue, then the client is
  // dropped and the stream's producer learns it.
  EXPECT_TRUE(grace::test::wait_until([&] { return flood_over_.load(); }))
    << flooded_.load() << " lines";
  EXPECT_LT(flooded_.load(), 1'000'000);
  ::close(fd);
}
