// losscc._losscc_search: the loss search for Python (search/search.h),
// so that a Python driver, and executors that send candidates to other
// processes or machines, run the same search as `losssearch`.
//
// Unlike _losscc, this extension links LibTorch (the search's policy and its
// ranking and multi-task models are LibTorch modules): the one this project
// was built with. A process that imports a different PyTorch beside it
// would hold two LibTorch builds, so the package refuses that at import
// (losscc/search.py). Evaluations release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <torch/version.h>

#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "compiler/language/diagnostics.h"
#include "models/errors.h"
#include "search/executor.h"
#include "search/search_command.h"

namespace py = pybind11;

namespace losscc::search {
namespace {

std::string failure_name(FitFailure f) {
  return f == FitFailure::NonFinite ? "non_finite" : f == FitFailure::Compile ? "compile" : "";
}

FitFailure failure_by_name(const std::string& name) {
  if (name.empty()) return FitFailure::None;
  if (name == "non_finite") return FitFailure::NonFinite;
  if (name == "compile") return FitFailure::Compile;
  throw std::invalid_argument("unknown failure '" + name + "' (non_finite, compile, or empty)");
}

// The options of a command line; raises SystemExit with the tool's exit code
// for --help or a bad flag (its message already printed).
SearchOptions parse_or_exit(std::vector<std::string> args) {
  args.insert(args.begin(), "losssearch");
  SearchOptions options;
  if (const int code = parse_search_command(args, options); code >= 0) throw py::error_already_set([code] {
      PyErr_SetObject(PyExc_SystemExit, py::int_(code).ptr());
      return py::error_already_set();
    }());
  return options;
}

}  // namespace
}  // namespace losscc::search

PYBIND11_MODULE(_losscc_search, m) {
  using namespace losscc::search;
  m.doc() = "The loss search (losssearch) for Python drivers; see losscc.search.";
  m.attr("torch_version") = TORCH_VERSION;
  // Bad input is a ValueError, as losssearch makes it a usage error (exit 2).
  // Local: _losscc keeps its own CompileError.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const losscc::CompileError& e) {
      PyErr_SetString(PyExc_ValueError, e.render().c_str());
    } catch (const losscc::models::DataError& e) {
      PyErr_SetString(PyExc_ValueError, e.what());
    }
  });

  py::class_<WorkItem>(m, "Candidate", "A candidate to fit: its id (line of candidates.jsonl), its simplified "
                                       ".loss text and its phase. Plain data: picklable.")
      .def(py::init<>())
      .def_readwrite("id", &WorkItem::id)
      .def_readwrite("source", &WorkItem::source)
      .def_readwrite("phase", &WorkItem::phase)
      .def("__repr__", [](const WorkItem& w) { return "Candidate(id=" + std::to_string(w.id) + ")"; })
      .def(py::pickle([](const WorkItem& w) { return py::make_tuple(w.id, w.source, w.phase); },
                      [](const py::tuple& t) {
                        return WorkItem{t[0].cast<int64_t>(), t[1].cast<std::string>(), t[2].cast<int64_t>()};
                      }));

  py::class_<WorkResult>(m, "Result", "What fitting one candidate gave: its reward, or a failure "
                                      "('non_finite', 'compile') and its message. Picklable.")
      .def(py::init<>())
      .def_readwrite("id", &WorkResult::id)
      .def_property("failure", [](const WorkResult& r) { return failure_name(r.failure); },
                    [](WorkResult& r, const std::string& f) { r.failure = failure_by_name(f); })
      .def_readwrite("error", &WorkResult::error)
      .def_property("reward", [](const WorkResult& r) { return r.outcome.reward; },
                    [](WorkResult& r, double v) { r.outcome.reward = v; })
      .def_property("compile_seconds", [](const WorkResult& r) { return r.outcome.compile_seconds; },
                    [](WorkResult& r, double v) { r.outcome.compile_seconds = v; })
      .def_property("train_seconds", [](const WorkResult& r) { return r.outcome.train_seconds; },
                    [](WorkResult& r, double v) { r.outcome.train_seconds = v; })
      .def(py::pickle(
          [](const WorkResult& r) {
            return py::make_tuple(r.id, failure_name(r.failure), r.error, r.outcome.reward, r.outcome.compile_seconds,
                                  r.outcome.train_seconds);
          },
          [](const py::tuple& t) {
            WorkResult r;
            r.id = t[0].cast<int64_t>();
            r.failure = failure_by_name(t[1].cast<std::string>());
            r.error = t[2].cast<std::string>();
            r.outcome = {t[3].cast<double>(), t[4].cast<double>(), t[5].cast<double>()};
            return r;
          }));

  py::class_<LoadedTask>(m, "Task", "A task family's data and reward, built from losssearch's flags.")
      .def(py::init([](const std::vector<std::string>& args) {
             SearchOptions options = parse_or_exit(args);
             py::gil_scoped_release unlocked;
             return new LoadedTask(options);
           }),
           py::arg("args"))
      .def_property_readonly("name", [](const LoadedTask& t) { return t.task().name(); })
      .def_property_readonly("description", &LoadedTask::description)
      .def(
          "restore_state",
          [](LoadedTask& t, const std::string& state, const std::string& dir) {
            t.task().restore_state(nlohmann::json::parse(state), dir);
          },
          py::arg("state"), py::arg("dir"), py::call_guard<py::gil_scoped_release>(),
          "Takes the search's task state (Session.task_state(), its files under `dir`): a worker elsewhere then "
          "fits as the driver's task would (the shared reward's model).");

  m.def(
      "evaluate",
      [](const WorkItem& candidate, const LoadedTask& task) {
        py::gil_scoped_release release;
        return evaluate_item(task.task(), candidate);
      },
      py::arg("candidate"), py::arg("task"),
      "Fits one candidate with the task and returns its Result; a pure function of both, on this thread, "
      "the GIL released.");

  // The search's own work (the policy's autograd among it) runs with the GIL released.
  using release = py::call_guard<py::gil_scoped_release>;
  py::class_<SearchSession>(m, "Session", "losssearch's run: the task, the search loop, the effectiveness test.")
      .def(py::init([](const std::vector<std::string>& args) {
             SearchOptions options = parse_or_exit(args);
             py::gil_scoped_release unlocked;
             return new SearchSession(std::move(options));
           }),
           py::arg("args"))
      .def("start", [](SearchSession& s) {
        if (s.options().compare.empty()) s.search().start(s.options().resume);  // --compare: nothing to search
      }, release())
      .def("propose_round", [](SearchSession& s) { return s.search().propose_round(); }, release())
      .def("settle_round", [](SearchSession& s, const std::vector<WorkResult>& results) {
        s.search().settle_round(results);
      }, release())
      .def("checkpoint", [](SearchSession& s) { s.search().checkpoint(); }, release())
      .def("task_state", [](SearchSession& s) {
        // What the last checkpoint saved of the task: files under the checkpoint folder.
        const std::string dir = (std::filesystem::path(s.options().search.out_dir) / "checkpoint").string();
        return py::make_tuple(s.loaded_task().task().save_state(dir).dump(), dir);
      }, "The task's state as JSON and the folder of the files it names ('{}': none).")
      .def("set_executor_note", [](SearchSession& s, std::string note) { s.search().set_executor_note(std::move(note)); },
           py::arg("note"), "Appended to the progress lines.")
      .def_property_readonly("executor", [](const SearchSession& s) { return s.options().executor; })
      .def_property_readonly("ray_address", [](const SearchSession& s) { return s.options().ray_address; })
      .def_property_readonly("data", [](const SearchSession& s) { return s.options().data; })
      .def_property_readonly("out_dir", [](const SearchSession& s) { return s.options().search.out_dir; })
      .def_property_readonly("progress_seconds", [](const SearchSession& s) { return s.options().search.progress_seconds; })
      .def_property_readonly("done", [](SearchSession& s) { return !s.options().compare.empty() || s.search().done(); })
      .def("best",
           [](SearchSession& s) {
             py::list out;
             for (const FoundLoss& f : s.search().top())
               out.append(py::dict(py::arg("id") = f.id, py::arg("reward") = f.reward, py::arg("source") = f.source));
             return out;
           })
      .def_property_readonly("task", [](SearchSession& s) -> LoadedTask& { return s.loaded_task(); },
                             py::return_value_policy::reference_internal)
      .def_property_readonly("workers", [](SearchSession& s) { return s.search().round_size(); })
      .def_property_readonly("resume_command", [](const SearchSession& s) {
        return s.options().command + (s.options().resume ? "" : " --resume");
      })
      .def("finish", [](SearchSession& s) { return s.finish(); }, release());
}
