"""Lightning-AI/pytorch-lightning examples/pytorch/domain_templates/generative_adversarial_net.py
(215acdc3efa4), the GAN LightningModule as it is: manual optimization, two Adam optimizers
(generator, discriminator) from `configure_optimizers`, `toggle_optimizer`/`manual_backward`/
`opt.step()`/`untoggle_optimizer` for each, `log_dict` of both losses. Images are 1×8×8 random
tensors instead of MNIST; the torchvision image grid is cut. The doctor rides along as the
README says for Lightning: `DoctorCallback` in `Trainer(callbacks=[...])`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import harness
from .harness import Fault, Run

POISON = "generator.model.0.weight"


def _build(fault: Optional[Fault], result: Run):
    import lightning.pytorch as pl

    class Generator(nn.Module):
        def __init__(self, latent_dim: int = 100, img_shape: tuple = (1, 28, 28)):
            super().__init__()
            self.img_shape = img_shape

            def block(in_feat, out_feat, normalize=True):
                layers = [nn.Linear(in_feat, out_feat)]
                if normalize:
                    layers.append(nn.BatchNorm1d(out_feat, 0.8))
                layers.append(nn.LeakyReLU(0.2, inplace=True))
                return layers

            self.model = nn.Sequential(
                *block(latent_dim, 32, normalize=False), *block(32, 64),
                nn.Linear(64, int(np.prod(img_shape))), nn.Tanh())

        def forward(self, z):
            img = self.model(z)
            return img.view(img.size(0), *self.img_shape)

    class Discriminator(nn.Module):
        def __init__(self, img_shape):
            super().__init__()
            self.model = nn.Sequential(nn.Linear(int(np.prod(img_shape)), 64), nn.LeakyReLU(0.2, inplace=True),
                                       nn.Linear(64, 32), nn.LeakyReLU(0.2, inplace=True), nn.Linear(32, 1))

        def forward(self, img):
            return self.model(img.view(img.size(0), -1))

    class GAN(pl.LightningModule):
        def __init__(self, img_shape=(1, 8, 8), lr=0.0002, b1=0.5, b2=0.999, latent_dim=16):
            super().__init__()
            self.save_hyperparameters()
            self.automatic_optimization = False
            self.generator = Generator(latent_dim=self.hparams.latent_dim, img_shape=img_shape)
            self.discriminator = Discriminator(img_shape=img_shape)
            self.step_no = 0

        def forward(self, z):
            return self.generator(z)

        @staticmethod
        def adversarial_loss(y_hat, y):
            return F.binary_cross_entropy_with_logits(y_hat, y)

        def training_step(self, batch):
            imgs, _ = batch
            opt_g, opt_d = self.optimizers()
            for opt in (opt_g, opt_d):
                harness.apply(fault, "set_lr", self.step_no, opt)
            harness.apply(fault, "before_forward", self.step_no, self)
            z = torch.randn(imgs.shape[0], self.hparams.latent_dim).type_as(imgs)
            valid = torch.ones(imgs.size(0), 1).type_as(imgs)
            self.toggle_optimizer(opt_g)
            g_loss = self.adversarial_loss(self.discriminator(self(z)), valid)
            g_loss = harness.apply(fault, "scale_loss", self.step_no, g_loss)
            opt_g.zero_grad()
            self.manual_backward(g_loss)
            g_norm = harness.grad_norm(self.generator)
            opt_g.step()
            self.untoggle_optimizer(opt_g)

            self.toggle_optimizer(opt_d)
            real_loss = self.adversarial_loss(self.discriminator(imgs), valid)
            fake = torch.zeros(imgs.size(0), 1).type_as(imgs)
            fake_loss = self.adversarial_loss(self.discriminator(self(z).detach()), fake)
            d_loss = (real_loss + fake_loss) / 2
            d_loss = harness.apply(fault, "scale_loss", self.step_no, d_loss)
            opt_d.zero_grad()
            self.manual_backward(d_loss)
            d_norm = harness.grad_norm(self.discriminator)
            opt_d.step()
            self.untoggle_optimizer(opt_d)
            self.log_dict({"d_loss": d_loss, "g_loss": g_loss})
            result.losses.append((harness.loss_value(g_loss), harness.loss_value(d_loss)))
            result.clip_norms.append((g_norm, d_norm))
            self.step_no += 1

        def configure_optimizers(self):
            lr, b1, b2 = self.hparams.lr, self.hparams.b1, self.hparams.b2
            opt_g = torch.optim.Adam(self.generator.parameters(), lr=lr, betas=(b1, b2))
            opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=lr, betas=(b1, b2))
            return opt_g, opt_d

    return GAN()


def run(doctor: Optional[dict] = None, fault: Optional[Fault] = None, steps: int = 40,
        log_dir=None, root_dir=None) -> Run:
    import lightning.pytorch as pl
    import tempfile
    pl.seed_everything(7, verbose=False)
    result = Run()
    model = _build(fault, result)
    if fault is not None and fault.param is None:
        fault.param = POISON
    g = torch.Generator().manual_seed(0)
    data = torch.utils.data.TensorDataset(torch.rand(steps * 8, 1, 8, 8, generator=g) * 2 - 1,
                                          torch.zeros(steps * 8))
    callbacks = []
    if doctor is not None:
        from pretrain_doctor.integrations.lightning import DoctorCallback
        callbacks.append(DoctorCallback(log_dir=log_dir, **doctor))
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", devices=1, callbacks=callbacks, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         default_root_dir=root_dir or tempfile.mkdtemp())
    trainer.fit(model, torch.utils.data.DataLoader(data, batch_size=8))
    return harness.finish(result, model, callbacks[0].doctor if callbacks else None)
