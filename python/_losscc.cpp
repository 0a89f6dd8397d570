// losscc._losscc: the compiler and the runtime's kernels for Python.
//
// The extension knows no PyTorch: the `losscc` package (python/losscc) hands
// it tensors' data pointers as integers and wraps the kernels in a
// torch.autograd.Function. So the module works with any PyTorch version a
// user has (LibTorch's C++ ABI differs between them) and never links it.
// Kernel runs release the GIL.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "compiler/codegen/cuda/emit_cuda.h"
#include "compiler/codegen/torch/emit_torch.h"
#include "compiler/ir/print.h"
#include "compiler/language/parse.h"
#include "compiler/passes/build_program.h"
#include "compiler/passes/check.h"
#include "compiler/passes/grad.h"
#include "compiler/passes/simplify.h"
#include "runtime/kernel.h"
#include "search/paired.h"

namespace py = pybind11;

namespace losscc {
namespace {

const std::map<std::string, rt::Backend>& backends() {
  static const std::map<std::string, rt::Backend> table = {
      {"cpu", rt::Backend::Llvm}, {"cuda", rt::Backend::Cuda}, {"interp", rt::Backend::Interp}};
  return table;
}

rt::Backend backend_by_name(const std::string& name) {
  auto it = backends().find(name);
  if (it == backends().end())
    throw std::invalid_argument(fmt::format("unknown backend '{}' (cpu, cuda, interp)", name));
  return it->second;
}

template <typename T>
std::vector<T*> pointers(const std::vector<uintptr_t>& addresses) {
  std::vector<T*> out;
  out.reserve(addresses.size());
  for (uintptr_t a : addresses) out.push_back(reinterpret_cast<T*>(a));
  return out;
}

// A compiled kernel (immutable, shared with the runtime's cache).
struct KernelHandle {
  std::shared_ptr<const rt::Kernel> kernel;
};

// A parsed loss: what the file says, simplified.
struct Function {
  LossFunction fn;

  std::vector<std::string> input_names() const {
    std::vector<std::string> names;
    for (const InputDecl& in : fn.inputs) names.push_back(in.name);
    return names;
  }

  // `losscc --grad`: the simplified gradient of every input, in .loss syntax.
  std::string grad_source() const {
    const std::vector<std::string> names = input_names();
    std::vector<Expr> grads = gradient(fn.body, names);
    std::string out;
    for (size_t i = 0; i < names.size(); ++i) {
      LossFunction g = fn;
      g.body = simplify(grads[i]);
      out += fmt::format("# d loss / d {}\n{}", names[i], to_loss_source(g));
    }
    return out;
  }

  KernelHandle kernel(const std::vector<int>& grad_inputs, const std::string& backend, bool hessian) const {
    rt::CompileOptions options;
    options.backend = backend_by_name(backend);
    Program program = build_program(fn, grad_inputs, hessian);
    py::gil_scoped_release release;  // compiling takes milliseconds
    return KernelHandle{rt::get_kernel(program, options)};
  }
};

Function make_function(LossFunction parsed) { return Function{simplify(parsed)}; }

}  // namespace
}  // namespace losscc

PYBIND11_MODULE(_losscc, m) {
  using namespace losscc;
  m.doc() = "losscc's compiler and kernels (used by the `losscc` package; see its docstring)";

  // A .loss file that does not compile: the message is the compiler's,
  // "file:line:col: error: ..." with the source line and a caret.
  static py::exception<CompileError> compile_error(m, "CompileError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const CompileError& e) {
      std::string text = e.render();
      while (!text.empty() && text.back() == '\n') text.pop_back();
      compile_error(text.c_str());
    } catch (const rt::BackendUnavailable& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
    }
  });

  py::class_<KernelHandle>(m, "Kernel")
      .def_property_readonly("backend",
                             [](const KernelHandle& h) { return std::string(rt::backend_name(h.kernel->backend())); })
      .def_property_readonly("compile_seconds", [](const KernelHandle& h) { return h.kernel->compile_seconds(); })
      .def(
          "run_host",
          [](const KernelHandle& h, int64_t n, const std::vector<uintptr_t>& inputs, const std::vector<uintptr_t>& grads,
             int threads, uintptr_t offsets, int64_t queries) {
            rt::HostArgs args;
            args.n = n;
            args.inputs = pointers<const float>(inputs);
            args.grads = pointers<float>(grads);
            args.threads = threads;
            args.offsets = reinterpret_cast<const int64_t*>(offsets);
            args.queries = queries;
            py::gil_scoped_release release;
            return h.kernel->run(args);
          },
          py::arg("n"), py::arg("inputs"), py::arg("grads"), py::arg("threads") = 0, py::arg("offsets") = 0,
          py::arg("queries") = 0,
          "Runs on host float32 arrays (addresses); returns the reduced loss and fills the gradients.")
      .def(
          "run_device",
          [](const KernelHandle& h, int64_t n, const std::vector<uintptr_t>& inputs, const std::vector<uintptr_t>& grads,
             uintptr_t loss, uintptr_t stream) {
            rt::DeviceArgs args;
            args.n = n;
            args.inputs = pointers<const float>(inputs);
            args.grads = pointers<float>(grads);
            args.loss = reinterpret_cast<float*>(loss);
            args.stream = reinterpret_cast<void*>(stream);
            py::gil_scoped_release release;
            h.kernel->run_device(args);
          },
          py::arg("n"), py::arg("inputs"), py::arg("grads"), py::arg("loss"), py::arg("stream") = 0,
          "Runs on device float32 arrays of the current device; writes the loss to the device float at `loss`.");

  py::class_<Function>(m, "Function")
      .def_property_readonly("inputs", &Function::input_names)
      .def_property_readonly("domains",
                             [](const Function& f) {
                               std::vector<std::string> out;
                               for (const InputDecl& in : f.fn.inputs) out.emplace_back(domain_name(in.domain));
                               return out;
                             })
      .def_property_readonly("roles",
                             [](const Function& f) {
                               std::vector<std::string> out;
                               for (const InputDecl& in : f.fn.inputs) out.emplace_back(role_name(in.role));
                               return out;
                             })
      .def_property_readonly("reduction", [](const Function& f) { return std::string(reduction_name(f.fn.reduction)); })
      .def_property_readonly("grouped", [](const Function& f) { return f.fn.grouped(); })
      .def("source", [](const Function& f) { return to_loss_source(f.fn); })
      .def("grad_source", &Function::grad_source)
      .def("check_json", [](const Function& f) { return check(f.fn).to_json().dump(); })
      .def("emit_cuda", [](const Function& f) { return cuda::emit_cuda(build_program(f.fn)); })
      .def(
          "emit_torch",
          [](const Function& f, const std::string& name) {
            torch_codegen::TorchEmitOptions options;
            options.function_name = torch_codegen::python_function_name(name);
            return torch_codegen::emit_torch(f.fn, options);
          },
          py::arg("name") = "loss")
      .def("kernel", &Function::kernel, py::arg("grad_inputs"), py::arg("backend"), py::arg("hessian") = false,
           "The compiled kernel for these gradient inputs (indices) on backend cpu, cuda or interp; with "
           "`hessian`, it also stores each gradient's Hessian diagonal, after the gradients.");

  m.def(
      "parse_file",
      [](const std::string& path, const std::map<std::string, double>& params) {
        return make_function(parse_loss_file(path, params));
      },
      py::arg("path"), py::arg("params") = std::map<std::string, double>{});
  m.def(
      "parse_source",
      [](const std::string& source, const std::string& name, const std::map<std::string, double>& params) {
        return make_function(parse_loss(source, name, params));
      },
      py::arg("source"), py::arg("name") = "<string>", py::arg("params") = std::map<std::string, double>{});
  m.def(
      "compare_paired",
      [](const std::vector<double>& a, const std::vector<double>& b, double confidence, int resamples,
         uint64_t seed) { return search::compare_paired(a, b, confidence, resamples, seed).to_json().dump(); },
      py::arg("a"), py::arg("b"), py::arg("confidence") = 0.95, py::arg("resamples") = 10000, py::arg("seed") = 1,
      "search/paired.h's comparison of paired measurements, as JSON text.");
  m.def(
      "backend_available", [](const std::string& name) { return rt::backend_available(backend_by_name(name)); },
      py::arg("name"));
}
