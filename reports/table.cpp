// SPDX-License-Identifier: Apache-2.0
#include "reports/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace kvbench {

std::string format_fixed(double value, int decimals) {
  if (std::isnan(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

std::string format_exact(double value) {
  if (std::isnan(value)) return "";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

TableCell text_cell(const std::string& text) { return {text, text, std::nullopt, ""}; }

TableCell stat_cell(const MeanStderr& s, const std::string& flag, int decimals) {
  TableCell cell;
  cell.text = format_fixed(s.mean, decimals) + " ± " + format_fixed(s.stderr_, decimals) +
              " (n=" + std::to_string(s.n) + ")";
  if (!flag.empty()) cell.text += " [" + flag + "]";
  cell.raw = format_exact(s.mean);
  cell.stat = s;
  cell.flag = flag;
  return cell;
}

std::string to_markdown(const Table& table) {
  // Display width counts UTF-8 code points, so "±" lines up in a terminal.
  auto width_of = [](const std::string& s) {
    return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
  };
  std::vector<size_t> width(table.header.size(), 3);
  for (size_t c = 0; c < table.header.size(); ++c) {
    width[c] = std::max(width[c], width_of(table.header[c]));
    for (const auto& row : table.rows) width[c] = std::max(width[c], width_of(row[c].text));
  }
  auto pad = [&](const std::string& s, size_t c) { return s + std::string(width[c] - width_of(s), ' '); };
  std::string out;
  if (!table.title.empty()) out += "### " + table.title + "\n\n";
  out += "|";
  for (size_t c = 0; c < table.header.size(); ++c) out += " " + pad(table.header[c], c) + " |";
  out += "\n|";
  for (size_t c = 0; c < table.header.size(); ++c)
    out += (c < table.key_columns ? " " + std::string(width[c], '-') : " " + std::string(width[c] - 1, '-') + ":") + " |";
  out += "\n";
  for (const auto& row : table.rows) {
    out += "|";
    for (size_t c = 0; c < row.size(); ++c) out += " " + pad(row[c].text, c) + " |";
    out += "\n";
  }
  if (!table.notes.empty()) {
    out += "\n";
    for (const auto& note : table.notes) out += "- " + note + "\n";
  }
  return out;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string out = "\"";
  for (char ch : text) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string to_csv(const Table& table) {
  // A column holding statistics anywhere becomes four: _mean, _stderr, _n, _flag.
  std::vector<bool> is_stat(table.header.size(), false);
  for (const auto& row : table.rows)
    for (size_t c = 0; c < row.size(); ++c) is_stat[c] = is_stat[c] || row[c].stat.has_value();
  std::string out;
  for (size_t c = 0; c < table.header.size(); ++c) {
    if (c) out += ",";
    const std::string& h = table.header[c];
    out += is_stat[c] ? csv_field(h + "_mean") + "," + csv_field(h + "_stderr") + "," + csv_field(h + "_n") +
                            "," + csv_field(h + "_flag")
                      : csv_field(h);
  }
  out += "\n";
  for (const auto& row : table.rows) {
    for (size_t c = 0; c < row.size(); ++c) {
      if (c) out += ",";
      const TableCell& cell = row[c];
      if (!is_stat[c]) {
        out += csv_field(cell.raw);
      } else if (cell.stat) {
        out += format_exact(cell.stat->mean) + "," + format_exact(cell.stat->stderr_) + "," +
               std::to_string(cell.stat->n) + "," + csv_field(cell.flag);
      } else {
        out += ",,," + csv_field(cell.flag.empty() ? cell.text : cell.flag);
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace kvbench
