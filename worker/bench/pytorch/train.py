# The PyTorch side of `npm run bench -- vs-pytorch`: trains one of the benchmark models on
# random data (batch 256, SGD) with a given number of threads and prints one JSON line with
# samples/s. The same models as worker/bench/vs-pytorch.ts builds for Syncline:
#   mlp   784-256-10, relu, softmax + cross-entropy
#   cnn   the Keras MNIST CNN: conv 32@3x3 relu, conv 64@3x3 relu, maxpool 2, dense 128 relu, dense 10
#   lstm  30 steps x 2 features, LSTM 128, dense 1, mean squared error
#   dcgan examples/mnist-dcgan.json: generator dense 32 -> 6272, BN, leaky relu, 7x7x128,
#         transposed conv 64@4x4/2, BN, leaky relu, transposed conv 1@4x4/2 sigmoid;
#         discriminator conv 64@4x4/2 and 128@4x4/2 (leaky relu, dropout 0.3), dense 1 sigmoid;
#         Adam 2e-4 (beta1 0.5) for each, real label 0.9. One step as Syncline's GanTrainer
#         takes it: the discriminator on real digits and on fakes from fresh latents, then the
#         generator on fakes from other fresh latents (the discriminator's weights frozen).
# Run it as the benchmark does: OPENBLAS_NUM_THREADS = threads, OPENBLAS_CORETYPE and
# OPENBLAS_L2_SIZE unset (they would hold OpenBLAS to an older kernel).
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 256


class LastStep(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(input_size=2, hidden_size=128, batch_first=True)
        self.out = nn.Linear(128, 1)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.out(y[:, -1, :])


def dcgan_step():
    leaky = lambda: nn.LeakyReLU(0.2)
    generator = nn.Sequential(
        nn.Linear(32, 6272), nn.BatchNorm1d(6272), leaky(), nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), leaky(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Sigmoid(), nn.Flatten())
    discriminator = nn.Sequential(
        nn.Unflatten(1, (1, 28, 28)),
        nn.Conv2d(1, 64, 4, 2, 1), leaky(), nn.Dropout(0.3),
        nn.Conv2d(64, 128, 4, 2, 1), leaky(), nn.Dropout(0.3),
        nn.Flatten(), nn.Linear(6272, 1), nn.Sigmoid())
    g_opt = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    d_opt = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
    real = torch.rand(BATCH, 784)
    bce = lambda p, label: F.binary_cross_entropy(p, torch.full_like(p, label), reduction='sum')

    def step():
        with torch.no_grad():
            fake = generator(torch.randn(BATCH, 32))
        d_opt.zero_grad()
        (bce(discriminator(real), 0.9) + bce(discriminator(fake), 0.0)).backward()
        d_opt.step()
        discriminator.requires_grad_(False)
        g_opt.zero_grad()
        bce(discriminator(generator(torch.randn(BATCH, 32))), 1.0).backward()
        g_opt.step()
        discriminator.requires_grad_(True)

    return step


def model_and_data(name):
    if name == 'mlp':
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))
        return model, torch.rand(BATCH, 784), torch.randint(0, 10, (BATCH,)), F.cross_entropy
    if name == 'cnn':
        model = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Linear(128, 10))
        return model, torch.rand(BATCH, 1, 28, 28), torch.randint(0, 10, (BATCH,)), F.cross_entropy
    if name == 'lstm':
        return LastStep(), torch.rand(BATCH, 30, 2), torch.rand(BATCH, 1), F.mse_loss
    raise SystemExit(f'unknown model {name}')


def main():
    name, threads, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    if name == 'dcgan':
        step = dcgan_step()
    else:
        model, x, y, loss_fn = model_and_data(name)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

        def step():
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()

    for _ in range(3):
        step()
    # Steps until `seconds` have passed; the median step is the figure (robust to a busy machine).
    times, cpu = [], []
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or len(times) < 5:
        c, t = time.process_time(), time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    times.sort()
    cpu.sort()
    median = times[len(times) // 2]
    print(json.dumps({'framework': 'pytorch', 'version': torch.__version__, 'model': name, 'threads': threads,
                      'steps': len(times), 'stepMs': round(median * 1000, 3), 'stepCpuMs': round(cpu[len(cpu) // 2] * 1000, 3),
                      'samplesPerSecond': round(BATCH / median)}))


main()
