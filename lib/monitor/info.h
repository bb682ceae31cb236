// vserver-info: the queries of util-vserver's vserver-info that make sense on the shim.
//
//   CONTEXT   the xid of the running context (not running: exit 1, nothing printed)
//   RUNNING   nothing printed; exit 0 when running, 1 when not
//   VDIR      the guest's root tree (its configuration)
//   CFGDIR    the guest's configuration directory
//   APPDIR A  CFGDIR/apps/A
//   NAME      the guest's name (for an xid: the name its state records)
//   XIDTYPE   host, watch, static or dynamic
//   INITPID   host pid of the context's first process
//   SYSINFO   kernel features (target "-")
//
// Refused by name (usage error): APIVER, VERIFYCAP, VERIFYPROC, INITPID_PID, FEATURE, UTS,
// CANONIFY, ... of the Linux-VServer kernel API, which has no equivalent here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kernel-shim/context_table.h"
#include "lib/base/result.h"
#include "lib/guest/paths.h"

namespace vs::monitor {

/// The answer to a query: the lines to print (raw; the tool escapes them) and whether the
/// answer is "no" (exit 1: RUNNING or CONTEXT of a stopped guest).
struct InfoAnswer {
  std::vector<std::string> lines;
  bool negative = false;
};

/// The queries answered, for --help and errors.
const std::vector<std::string>& info_queries();

/// Answers `query` (case-insensitive) about `target`: a guest name, a context xid, or "-"
/// (SYSINFO only). `args` are the words after the query (APPDIR's app name). An unknown or
/// refused query is a kUsage error naming it; an unknown guest or context kNotFound.
Result<InfoAnswer> answer_info(const shim::ContextTable& table, const ConfigRoots& roots,
                               const std::string& target, const std::string& query,
                               const std::vector<std::string>& args);

}  // namespace vs::monitor
