// The HTTP probe's judgement of an answer (SPEC.md section 4), apart from
// its I/O (probe_http.cpp): the status against what is expected, the body as
// the output; and a whole response as read from the socket, parsed by
// Boost.Beast as the probe parses it (tests/fuzz/http_response_fuzz).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/probes.hpp"

namespace grace::runtime {

/// At most this much body is read: a health endpoint, not a download.
inline constexpr std::uint64_t http_body_limit = 1 << 20;

/// `status` against [expect_min, expect_max]: `rate_limited` on 429,
/// `api_error` on another status outside; the start of `body` (64 KiB,
/// enough for a KPI's JSON document) as the output. `where` names the
/// endpoint in the detail.
probe_result judge_http_status(int status, const std::string& body,
                               int expect_min, int expect_max,
                               const std::string& where);

/// What probe_http() makes of `raw`, a whole response as read until the
/// server closed: judged by its status; a malformed or incomplete response,
/// or none, is an `api_error` saying why.
probe_result judge_http_response(std::string_view raw, int expect_min,
                                 int expect_max, const std::string& where);

} // namespace grace::runtime
