"""Transfer learning for the engine's embedders: data (catalog → tensors/features) and finetune."""
from engine.training.finetune import FinetuneConfig, FinetuneResult, finetune

__all__ = ["FinetuneConfig", "FinetuneResult", "finetune"]
