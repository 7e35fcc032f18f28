"""Every method's config (its fields and the papers' defaults) and its registry entry.

Torch-free on purpose: validating a spec, expanding its grid and forecasting it (`adapterbench
validate` / `plan`) need the configs and the registry but no model, and importing torch and
transformers costs seconds (pipeline/spec.py). Each entry names its ``apply`` function as
"module:function"; the module, which builds the torch modules, is imported on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.registry import Method, register

# Where AdapterDrop puts its adapters, per architecture (positions of adapters/insertion.py).
ADAPTERDROP_POSITIONS = {"pfeiffer": ("ffn_output",), "houlsby": ("attention_output", "ffn_output")}
# How AdapterFusion runs its K adapters (FusionConfig.implementation).
FUSION_IMPLEMENTATIONS = ("iterative", "parallel")
# The linear roles LoRA may adapt (adapters/insertion.py maps them to each model's Linears).
LORA_ROLES = ("query", "key", "value", "attention_output", "ffn_input", "ffn_output")


@dataclass(kw_only=True)
class OutputLayerOption:
    """Compacter App. C / Table 7: the methods "with fine-tuning the output layer". For T5 the
    output layer is the LM head (tied to the input embeddings in T5 v1.0, so those train with
    it: Table 7's 11.1% trained parameters are one 32,128 × 768 matrix); a classification head
    is always trained, so the option only exists for models with output embeddings."""
    train_output_layer: bool = False


@dataclass
class FullConfig:
    pass


@dataclass
class BottleneckConfig(OutputLayerOption):
    # Reduction factor 16: AdapterDrop §2 / App. D "the standard compression rate is 16".
    reduction_factor: int = 16
    # ReLU: AdapterHub's default non-linearity for Houlsby and Pfeiffer configs (used by AdapterDrop).
    activation: str = "relu"
    # Layer norms stay frozen as in AdapterHub's configs (AdapterDrop's setting); Houlsby §3.1
    # and Compacter §5 train them: set True for that variant.
    train_layer_norm: bool = False

    def __post_init__(self):
        if self.reduction_factor < 1:
            raise ValueError("reduction_factor must be >= 1")
        if self.activation not in ("relu", "gelu", "swish"):
            raise ValueError("activation must be one of relu, gelu, swish")


@dataclass
class AdapterDropConfig(BottleneckConfig):
    # reduction 16, ReLU, frozen layer norms: the Pfeiffer setting of AdapterDrop App. A.2,
    # inherited from BottleneckConfig.
    # Pfeiffer adapters: AdapterDrop §3 / App. A.2. Compacter §5.1 applies AdapterDrop to Houlsby
    # adapters ("houlsby", with reduction_factor 32 to match its 0.494%).
    architecture: str = "pfeiffer"
    # Specialized: 5, the setting AdapterDrop §3 reports ("with the first five layers dropped") and
    # Compacter §5.1 uses (first five layers of the encoder and of the decoder). Robust: must be 0
    # (n is drawn per batch). None resolves to the default of the chosen mode.
    drop_first_n: int | None = None
    # Robust AdapterDrop (§3): n ~ U{0..L−1} per training batch.
    robust: bool = False

    def __post_init__(self):
        super().__post_init__()
        if self.architecture not in ADAPTERDROP_POSITIONS:
            raise ValueError(f"architecture must be one of {sorted(ADAPTERDROP_POSITIONS)}")
        if self.drop_first_n is None:
            self.drop_first_n = 0 if self.robust else 5
        if self.drop_first_n < 0:
            raise ValueError("drop_first_n must be >= 0")
        if self.robust and self.drop_first_n:
            raise ValueError("robust AdapterDrop draws n per batch; drop_first_n must be 0")


@dataclass
class FusionConfig(BottleneckConfig):
    # reduction 16, ReLU: the Pfeiffer adapters fused in AdapterDrop §4 / Table 7 ("compression
    # rate 16x"), inherited from BottleneckConfig.
    # K = 8: AdapterDrop §4 fuses "the adapters from all eight GLUE tasks".
    num_adapters: int = 8
    # 0: standard AdapterFusion; AdapterDrop App. E / Table 7 studies 0.25, 0.5, 0.75.
    fusion_dropout: float = 0.0
    # 0: fusion in every layer; AdapterDrop §5.1 removes it from the first n layers.
    drop_first_n: int = 0
    # Robust AdapterDrop applied to fusion (§5.1 "the same procedure as in §3").
    robust: bool = False
    # How the K adapters run (AdapterDrop App. H "Parallel Implementation of AdapterFusion",
    # Table 12, Figure 11): "iterative" passes h through each adapter in turn (AdapterHub's
    # implementation); "parallel" computes all K in one down and one up product (the paper's two
    # convolutions: kernel d with K·m output channels, then a grouped one). Same outputs up to
    # float rounding; which is faster depends on device and input size (Table 12).
    implementation: str = "iterative"
    # The tasks whose trained Pfeiffer adapters are fused, one per slot (AdapterDrop §4: "the
    # adapters from all eight GLUE tasks"); the trial trains or reuses them before training the
    # fusion (pipeline/fusion_sources.py). Empty: K untrained (identity) adapters, which only
    # timing may use (a trained fusion over them has no score to report).
    source_tasks: tuple[str, ...] = ()
    # LR of the source adapters: AdapterDrop App. A.2 trains adapters with "the default
    # hyperparameters for adapter fine-tuning as in Pfeiffer et al. (2021a)", LR 1e-4.
    source_lr: float = 1e-4

    def __post_init__(self):
        super().__post_init__()
        if isinstance(self.source_tasks, str) or not isinstance(self.source_tasks, (list, tuple)):
            raise ValueError(f"source_tasks: a list of task names, got {self.source_tasks!r}")
        self.source_tasks = tuple(str(t) for t in self.source_tasks)
        if self.source_tasks and len(self.source_tasks) != self.num_adapters:
            raise ValueError(f"source_tasks names {len(self.source_tasks)} task(s) for "
                             f"num_adapters {self.num_adapters}: one task per fused adapter")
        if len(set(self.source_tasks)) != len(self.source_tasks):
            raise ValueError(f"source_tasks: a task is listed twice in {list(self.source_tasks)}")
        if self.source_tasks and self.train_layer_norm:
            raise ValueError("train_layer_norm: the source adapters' layer norms cannot be fused "
                             "(one per model, not per adapter); train them without")
        if not self.source_lr > 0:
            raise ValueError("source_lr must be > 0")
        if self.num_adapters < 1:
            raise ValueError("num_adapters must be >= 1")
        if not 0.0 <= self.fusion_dropout < 1.0:
            raise ValueError("fusion_dropout must be in [0, 1)")
        if self.drop_first_n < 0:
            raise ValueError("drop_first_n must be >= 0")
        if self.robust and self.drop_first_n:
            raise ValueError("robust fusion draws n per batch; drop_first_n must be 0")
        if self.implementation not in FUSION_IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {', '.join(FUSION_IMPLEMENTATIONS)}")


@dataclass
class SharedAdapterConfig(BottleneckConfig):
    # Compression rate 16, AdapterDrop App. D: "The standard compression rate is 16"; Table 6 also
    # runs 4 and 1.33. A float because of 1.33, which stands for 4/3: 884k = 2·768·576 needs
    # m = 768·3/4, so write 1.3333333333333333 to reproduce it (1.33 gives m = 577).
    reduction_factor: float = 16.0


@dataclass
class CompacterFamilyConfig(BottleneckConfig):
    """The adapter setting Compacter's own methods and adapter baselines share (PHM-Adapter,
    Compacter(++), Adapter-LowRank)."""
    # Reduction 32 (bottleneck 24 on d=768): Compacter §5.5 "we fix the adapter size to 24" /
    # App. B; reproduces Table 1's 0.179% for PHM-Adapter (n=12), 0.073% for Compacter and
    # Adapter-LowRank on T5-base.
    reduction_factor: int = 32
    # GeLU: Compacter §2.2, eq. (2).
    activation: str = "gelu"
    # Layer norms train: Compacter §2.2 / App. B (see adapters/layernorm.py).
    train_layer_norm: bool = True

    def __post_init__(self):
        super().__post_init__()
        for name in ("phm_dim", "rank"):  # the sizes the subclasses add (PHM's n, the rank r)
            if getattr(self, name, 1) < 1:
                raise ValueError(f"{name} must be >= 1")


@dataclass
class PHMConfig(CompacterFamilyConfig):
    # n = 12: the PHM-Adapter row of Compacter Table 1 (0.179%; Table 6 also runs n = 4 and 8).
    # n must divide both the hidden size and the bottleneck size.
    phm_dim: int = 12


@dataclass
class CompacterConfig(PHMConfig):
    # n = 4: Compacter Table 1 (and §5.5 "we set n = 4"). n must divide d and the bottleneck size.
    phm_dim: int = 4
    # Rank 1: Compacter §3.2 "In general, we set r = 1".
    rank: int = 1


@dataclass
class LowRankConfig(CompacterFamilyConfig):
    # Rank 1: Compacter §5.1 "a product of two rank-one weights".
    rank: int = 1


@dataclass
class LoRAConfig:
    # r = 8 and alpha = 8: LoRA paper Table 9, RoBERTa-base ("r_q = r_v = 8, alpha = 8").
    rank: int = 8
    alpha: float = 8.0
    # Dropout on the LoRA input: 0.0 is peft's default (LoRA's GLUE runs list none for RoBERTa).
    dropout: float = 0.0
    # W_q and W_v: LoRA §4.2 / §7.1 adapt the query and value projections.
    target_modules: tuple[str, ...] = ("query", "value")

    def __post_init__(self):
        self.target_modules = tuple(self.target_modules)  # YAML/JSON give lists
        if self.rank < 1:
            raise ValueError("rank must be >= 1")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError("dropout must be in [0, 1)")
        unknown = sorted(set(self.target_modules) - set(LORA_ROLES))
        if unknown or not self.target_modules:
            raise ValueError(f"target_modules must be a non-empty subset of {LORA_ROLES}; got {unknown}")


@dataclass
class BitFitConfig(OutputLayerOption):
    # Compacter §5.1 fn. 7: "We re-introduce these biases for BitFit" (T5's removed biases).
    add_missing_biases: bool = True


@dataclass
class PromptTuningConfig:
    # 100 prompt tokens: Lester et al. §3 and Compacter §5.5 on T5; DESIGN: 10 is fine for
    # small encoders (override per spec).
    num_tokens: int = 100
    # "random" (Prompt Tuning-R) or "vocab" (Prompt Tuning-T), Compacter §5.1.
    init: str = "random"
    # Random-uniform range [-0.5, 0.5]: Lester et al. §3.2 ("Random Uniform").
    init_range: float = 0.5

    def __post_init__(self):
        if self.num_tokens < 1:
            raise ValueError("num_tokens must be >= 1")
        if self.init not in ("random", "vocab"):
            raise ValueError("init must be 'random' or 'vocab'")


@dataclass
class IntrinsicSAIDConfig:
    # d = 20000: Compacter Table 10 (Intrinsic-SAID 20K = 0.009% of T5-base, the Table 1 row);
    # DESIGN's default.
    dimension: int = 20000
    # SAID (structure-aware): one scalar per weight tensor, carved out of d (Compacter §5.1).
    # False gives plain DID (θ ∈ R^d, no scalars).
    said: bool = True
    # Seed of the Fastfood projections; part of the method, so a reload reproduces them.
    projection_seed: int = 0

    def __post_init__(self):
        if self.dimension < 1:
            raise ValueError("dimension must be >= 1")


# The registry, one entry per method (this order is `adapterbench methods`' order).
# LR: BitFit trains few parameters, like adapters (Compacter App. A searches 1e-4..3e-3 for them).
register(Method("bitfit", BitFitConfig, "adapters.bitfit:_apply", default_lrs=(1e-3,),
                description="BitFit: biases only (zero biases added where the model has none)"))
register(Method("full", FullConfig, "adapters.full:_apply", default_lrs=(5e-5,),
                description="full fine-tuning (all parameters)"))
register(Method("houlsby", BottleneckConfig, "adapters.houlsby:_apply", default_lrs=(1e-3,),
                description="Houlsby adapters after attention and FFN"))
# LR 1e-4 is Pfeiffer et al.'s default; 1e-3 trains faster on short CPU budgets.
register(Method("pfeiffer", BottleneckConfig, "adapters.pfeiffer:_apply", default_lrs=(1e-3,),
                description="Pfeiffer adapter after FFN"))
# LR 1e-3 like pfeiffer (AdapterDrop App. A.2 uses Pfeiffer et al.'s default hyperparameters).
register(Method("adapterdrop", AdapterDropConfig, "adapters.adapterdrop:_apply",
                default_lrs=(1e-3,),
                description="AdapterDrop: no adapters in the first n layers (specialized/robust)"))
# LR 1e-3 like the other adapters here (Compacter App. A: per-method pick from a 5-value grid).
register(Method("phm", PHMConfig, "adapters.phm:_apply", default_lrs=(1e-3,),
                description="PHM-Adapter: weights as sums of n Kronecker products (Compacter eq. 4)"))
# LR 1e-3 like the other adapters here (Compacter App. A: per-method pick from a 5-value grid).
register(Method("compacter", CompacterConfig, "adapters.compacter:_apply_compacter",
                default_lrs=(1e-3,),
                description="Compacter: shared slow A_i, rank-1 fast B_i, after attention and FFN"))
register(Method("compacterpp", CompacterConfig, "adapters.compacter:_apply_compacterpp",
                default_lrs=(1e-3,),
                description="Compacter++: Compacter after the FFN only"))
# LR 5e-5: the learning rate Pfeiffer et al. (2021a) train AdapterFusion with.
register(Method("fusion", FusionConfig, "adapters.fusion:_apply", default_lrs=(5e-5,),
                description="AdapterFusion over K frozen Pfeiffer adapters (fusion trained)"))
# LR 1e-3 like the other adapters here: Compacter App. A picks each method's LR from a 5-value grid
# (its Table 5 values are not in our text copy of the paper).
register(Method("lowrank", LowRankConfig, "adapters.lowrank:_apply", default_lrs=(1e-3,),
                description="Adapter-LowRank: rank-1 adapter weights (Compacter §5.1)"))
register(Method("shared_adapter", SharedAdapterConfig, "adapters.shared:_apply",
                default_lrs=(1e-3,),
                description="one Pfeiffer adapter shared by all layers (AdapterDrop App. D)"))
# LR 1e-2: a subspace of d = 20000 coordinates moves every weight at once and needs LRs far
# above full fine-tuning's (Aghajanyan et al. tune it per task; override per spec).
register(Method("intrinsic_said", IntrinsicSAIDConfig, "adapters.intrinsic_said:_apply",
                default_lrs=(1e-2,),
                description="Intrinsic-SAID: Fastfood subspace of dimension d"))
# LR 5e-4: LoRA Table 9, RoBERTa-base uses 4e-4 to 5e-4 depending on the task.
register(Method("lora", LoRAConfig, "adapters.lora:_apply", default_lrs=(5e-4,),
                description="LoRA low-rank updates on attention projections"))
# LR 0.3: Lester et al. §3 train prompts (Adafactor) at LR 0.3; prompts need far larger LRs
# than weights.
register(Method("prompt_tuning", PromptTuningConfig, "adapters.prompt_tuning:_apply",
                default_lrs=(3e-1,),
                description="prompt tuning: trained input prompt, model frozen"))
