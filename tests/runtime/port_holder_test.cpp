#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "runtime/port_holder.hpp"
#include "runtime/unique_fd.hpp"

using namespace grace::runtime;

TEST(PortHolder, ListeningSocketsAreFoundInProcNetTcp) {
  // Port 9999 (270F) listening twice (v4 any, v4 loopback), once
  // established (not a holder), and port 80 listening.
  std::string text
    = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
      "retrnsmt   uid  timeout inode\n"
      "   0: 00000000:270F 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000     0        0 4242 1 0000000000000000 100 0 0 10 0\n"
      "   1: 0100007F:270F 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000  1000        0 4343 1 0000000000000000 100 0 0 10 0\n"
      "   2: 0100007F:270F 0100007F:A000 01 00000000:00000000 00:00000000 "
      "00000000     0        0 4444 1 0000000000000000 20 4 30 10 -1\n"
      "   3: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 "
      "00000000     0        0 4545 1 0000000000000000 100 0 0 10 0\n"
      "garbage line\n";
  EXPECT_EQ(listening_inodes(text, 9999),
            (std::vector<std::uint64_t>{4242, 4343}));
  EXPECT_EQ(listening_inodes(text, 80), (std::vector<std::uint64_t>{4545}));
  EXPECT_TRUE(listening_inodes(text, 81).empty());
  EXPECT_TRUE(listening_inodes("", 9999).empty());
}

TEST(PortHolder, ARetitledCommandLosesItsPadding) {
  port_holder h;
  // /proc/PID/cmdline of an nginx master: its title over the old argv,
  // padded with spaces, then NULs (empty arguments).
  h.argv
    = {"nginx: master process /usr/sbin/nginx" + std::string(40, ' '), "", ""};
  EXPECT_EQ(h.command(), "nginx: master process /usr/sbin/nginx");
  h.argv = {"/usr/bin/python3", "-m", "http.server"};
  EXPECT_EQ(h.command(), "/usr/bin/python3 -m http.server");
  h.argv = {"   "};
  EXPECT_EQ(h.command(), "");
}

TEST(PortHolder, ThisProcessIsFoundHoldingAPort) {
  unique_fd fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  ASSERT_TRUE(fd);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr),
            0);
  ASSERT_EQ(::listen(fd.get(), 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
  auto port = ntohs(addr.sin_port);
  auto holder = find_port_holder(port);
  ASSERT_TRUE(holder);
  EXPECT_EQ(holder->pid, ::getpid());
  EXPECT_NE(holder->command().find("runtime_tests"), std::string::npos)
    << holder->command();
  EXPECT_NE(holder->exe.find("runtime_tests"), std::string::npos)
    << holder->exe;
  fd.reset();
  EXPECT_FALSE(find_port_holder(port)) << "closed: nobody holds it";
}
