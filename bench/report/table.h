// Renders evaluated rows as the one table `vfiosim bench` prints:
//   figure | vfio-sim | baseline | ratio | goal | kernel figure (source) | pass/short
// as aligned plain text for a terminal or as a Markdown table for the README.
// Section headings separate the issues; rows that are "missing" are listed
// again under the table with the reason.
//
// Thread safety: pure functions.
#ifndef VFIOSIM_BENCH_REPORT_TABLE_H_
#define VFIOSIM_BENCH_REPORT_TABLE_H_

#include <string>
#include <vector>

#include "bench/report/rows.h"

namespace vfiosim::bench::report {

std::string RenderText(const std::vector<Row>& rows);
std::string RenderMarkdown(const std::vector<Row>& rows);

// "N pass, N short, N info, N missing".
std::string Summary(const std::vector<Row>& rows);

}  // namespace vfiosim::bench::report

#endif  // VFIOSIM_BENCH_REPORT_TABLE_H_
