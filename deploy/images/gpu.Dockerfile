# syntax=docker/dockerfile:1
# The GPU worker image: the Syncline image (Dockerfile, built first) plus what the `webgpu`
# backend needs to find an NVIDIA GPU through Dawn: the Vulkan loader and NVIDIA's Vulkan ICD
# file. The driver's libraries themselves (libGLX_nvidia.so.0 and the rest) come from the node,
# mounted by the NVIDIA container toolkit when the pod asks for nvidia.com/gpu and the "graphics"
# capability is set (below): "compute,utility", the toolkit's default, gives CUDA but no Vulkan.
#   docker build -f deploy/images/Dockerfile -t syncline/syncline:0.1.0 .
#   docker build -f deploy/images/gpu.Dockerfile -t syncline/syncline-gpu:0.1.0 .
ARG BASE_IMAGE=syncline/syncline:0.1.0
FROM ${BASE_IMAGE}
USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 \
 && rm -rf /var/lib/apt/lists/*
# The ICD file NVIDIA's own Vulkan images carry: the loader opens the driver's library by name.
COPY deploy/images/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json
ENV NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics \
    VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/nvidia_icd.json
# Dawn loads (its addon and the Vulkan loader resolve) even without a GPU at build time, where
# it simply finds no adapter; a missing library fails the build here rather than in a pod.
RUN ldconfig -p | grep -q 'libvulkan.so.1 ' \
 && node --input-type=module -e "const { create } = await import('webgpu'); const gpu = create([]); console.log('dawn loads; adapter here:', await gpu.requestAdapter());" \
 && rm -rf /tmp/*
USER 1000:1000
CMD ["node", "--import", "tsx", "worker/src/main.ts"]
