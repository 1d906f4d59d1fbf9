#include "bench/report/table.h"

#include <algorithm>
#include <array>

#include <fmt/format.h>

namespace vfiosim::bench::report {
namespace {

constexpr std::array<const char*, 7> kHeader = {"figure", "vfio-sim", "baseline", "ratio",
                                                "goal",   "kernel figure (source)", "pass/short"};

std::array<std::string, 7> Cells(const Row& r) {
  return {r.figure, r.value, r.baseline, r.ratio, r.goal, r.kernel, VerdictName(r.verdict)};
}

// Display width: the table uses a few UTF-8 characters at most; count code
// points, not bytes, so that columns stay aligned.
size_t Width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Pad(const std::string& s, size_t width) {
  const size_t w = Width(s);
  return w >= width ? s : s + std::string(width - w, ' ');
}

std::vector<std::string> MissingLines(const std::vector<Row>& rows) {
  std::vector<std::string> out;
  for (const Row& r : rows) {
    if (r.verdict == Verdict::kMissing) out.push_back(fmt::format("  missing: {}: {}", r.figure, r.why));
  }
  return out;
}

}  // namespace

std::string Summary(const std::vector<Row>& rows) {
  size_t n[4] = {0, 0, 0, 0};
  for (const Row& r : rows) ++n[static_cast<int>(r.verdict)];
  return fmt::format("{} pass, {} short, {} info, {} missing", n[0], n[1], n[2], n[3]);
}

std::string RenderText(const std::vector<Row>& rows) {
  std::array<size_t, 7> width{};
  for (size_t i = 0; i < kHeader.size(); ++i) width[i] = Width(kHeader[i]);
  for (const Row& r : rows) {
    const auto cells = Cells(r);
    for (size_t i = 0; i < cells.size(); ++i) width[i] = std::max(width[i], Width(cells[i]));
  }
  auto line = [&](const std::array<std::string, 7>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      out += i + 1 == cells.size() ? cells[i] : Pad(cells[i], width[i]) + " | ";
    }
    return out + "\n";
  };
  std::array<std::string, 7> header;
  for (size_t i = 0; i < kHeader.size(); ++i) header[i] = kHeader[i];
  std::string out = line(header);
  size_t total = 0;
  for (size_t w : width) total += w + 3;
  out += std::string(total - 3, '-') + "\n";
  std::string section;
  for (const Row& r : rows) {
    if (r.section != section) {
      section = r.section;
      out += fmt::format("[{}]\n", section);
    }
    out += line(Cells(r));
  }
  out += Summary(rows) + "\n";
  for (const std::string& l : MissingLines(rows)) out += l + "\n";
  return out;
}

std::string RenderMarkdown(const std::vector<Row>& rows) {
  std::string out = "| figure | vfio-sim | baseline | ratio | goal | kernel figure (source) | pass/short |\n";
  out += "|---|---:|---:|---:|---|---|---|\n";
  std::string section;
  for (const Row& r : rows) {
    if (r.section != section) {
      section = r.section;
      out += fmt::format("| **{}** | | | | | | |\n", section);
    }
    auto cells = Cells(r);
    std::string line = "|";
    for (std::string& c : cells) {
      // Leading spaces mark sub-rows in the text table; Markdown drops them.
      size_t lead = c.find_first_not_of(' ');
      if (lead != std::string::npos && lead > 0) c = "&nbsp;&nbsp;" + c.substr(lead);
      std::string escaped;
      for (char ch : c) {
        if (ch == '|') escaped += '\\';
        escaped += ch;
      }
      line += " " + escaped + " |";
    }
    out += line + "\n";
  }
  out += "\n" + Summary(rows) + "\n";
  for (const std::string& l : MissingLines(rows)) out += l + "\n";
  return out;
}

}  // namespace vfiosim::bench::report
