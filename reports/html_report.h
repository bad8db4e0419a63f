// SPDX-License-Identifier: Apache-2.0
// The one-file HTML report: inline CSS, the tables, the plots as inline SVG (ids made unique per
// figure, since cairo names glyphs the same in every file), and per run its status, config,
// environment and a link (relative to the report) to its samples.jsonl predictions, with the first
// predictions shown. No script and no network access: it renders the same offline and in CI.
#pragma once

#include "reports/report_plots.h"
#include "reports/run_index.h"
#include "reports/table.h"

#include <filesystem>
#include <string>
#include <vector>

namespace kvbench {

std::string html_escape(const std::string& text);
// An SVG document made embeddable: XML prolog dropped, every id="x" / #x / url(#x) prefixed.
std::string inline_svg(const std::string& svg, const std::string& id_prefix);

std::string html_report(const std::vector<Table>& tables, const std::vector<PlotFile>& plots,
                        const std::vector<RunRecord>& runs, const std::filesystem::path& out_dir);

}  // namespace kvbench
