import { z } from 'zod';

/**
 * Options of CausalMMM. Defaults follow the authors' released configuration (hidden 256,
 * λ = 100, τ = 0.5, lr 5e-4 halved every 200 epochs, NLL variance 5e-7, M = 10) except where
 * a measured improvement is documented on the option. Every ablation of the paper is one
 * option here, not a copy of the model.
 */
export const causalmmmOptions = z.strictObject({
  /** Hidden size H of the encoder and the decoder. */
  hidden: z.int().min(2).default(256),
  /** Steps M predicted from the model's own outputs at the end of each training series. */
  predictSteps: z.int().min(1).default(10),
  /**
   * Steps the encoder reads: `all` = the whole training series, as the released code does
   * (its encoder sees the window the decoder is scored on); `history` = all but the last
   * `predictSteps` steps, so nothing the rollout predicts leaks into the inferred graph.
   * `disjoint` = in training, a crop of the same shop that does not overlap the decoder's
   * (`trainWindow` steps each, so 2 · trainWindow ≤ T): the edges can then carry only what
   * holds across the shop's series, not a code for the very steps being scored.
   * Harness forecasts never leak either way: the method only ever sees the history window.
   */
  encoderWindow: z.enum(['all', 'history', 'disjoint']).default('all'),
  /**
   * `embedding`: the encoder adds a learned vector per node to each node's features, so it
   * can tell which node is which (node n is the same channel or KPI in every shop) and learn
   * the population's graph as well as each shop's departures from it; `none`: released — the
   * encoder is permutation-equivariant and must tell nodes apart by their series alone.
   */
  nodeIdentity: z.enum(['none', 'embedding']).default('none'),
  /**
   * `pair`: a learned logit per ordered pair (i, j), the same in every shop, is added to the
   * encoder's — the population's graph, learnt as free parameters, while the encoder accounts
   * for each shop's departures from it; `none`: released, every logit comes from the encoder.
   * Measured (README): free per-pair logits trained with the decoder recover the easy VAR's
   * graph (AUROC 1.0) where the encoder alone wanders at 0.3–0.8, even with `nodeIdentity`.
   */
  edgePrior: z.enum(['none', 'pair']).default('none'),
  /** Learning-rate multiplier of the `edgePrior: pair` logits (one scalar each, so they need larger steps). */
  edgePriorRate: z.number().gt(0).default(10),
  /**
   * Pair features the encoder's first edge layer reads besides [h_i, h_j]: `none` (released),
   * or `lagged-correlation` — corr(x_i(t), x_j(t − l)) for l = −lags…lags of the window's
   * levels and of its first differences. An MLP on the concatenated node embeddings has to
   * learn a product of two series to see that they move together; this hands it that product,
   * so a shop's own departures from the population graph are visible to the encoder.
   * `granger`: the Granger evidence of a VAR fitted on the shop's window (see `grangerLags`).
   */
  edgeFeatures: z.enum(['none', 'lagged-correlation', 'granger']).default('none'),
  /** Largest lag l of `edgeFeatures: lagged-correlation` (2 · (2·lags + 1) features per pair). */
  correlationLags: z.int().min(0).default(3),
  /**
   * Lag order K of `edgeFeatures: granger`: a VAR(K) fitted by least squares on each shop's
   * encoder window gives every pair its Wald statistic (log 1 + F) and its K coefficients; the
   * window must have more than N·K + 2K + 1 steps.
   */
  grangerLags: z.int().min(1).default(2),
  /** `learned`: graph inferred by the encoder; `full` / `empty`: fixed graph, no encoder (ablation). */
  graph: z.enum(['learned', 'full', 'empty']).default('learned'),
  /**
   * `recurrent`: the GRU-style recurrent message passing of the paper (carry-over through the
   * hidden state); `adstock`: the same plus a learned geometric decay of every node's input;
   * `none`: no memory — each step sees only the current inputs (ablation).
   */
  temporal: z.enum(['recurrent', 'adstock', 'none']).default('recurrent'),
  /** Hill curve on the target's prediction: shape/half-saturation from context, constant, or none. */
  saturation: z.enum(['hill-context', 'hill', 'none']).default('hill-context'),
  /**
   * Initial Hill curve: `identity` (α ≈ 2, γ ≈ 0.2, so the curve starts close to y ↦ y and
   * training bends it) or `released` (PyTorch's default bias draw, which starts by halving the
   * target and cost a 4× worse forecast on the easy test panel under the test budget).
   */
  hillInit: z.enum(['identity', 'released']).default('identity'),
  /** `none` drops the shop context everywhere it is used (ablation). */
  context: z.enum(['use', 'none']).default('use'),
  /** `recurrent`: the marketing response decoder; `markov`: NRI's MLP decoder (the NRI/ACD baseline). */
  decoder: z.enum(['recurrent', 'markov']).default('recurrent'),
  /**
   * How the decoder combines the messages into node i: `mean` over all N senders, weighted by
   * z_ij (released), or `normalized` — divided by Σ_j z_ij instead, so the number of incoming
   * edges cannot act as a per-node signal of its own.
   */
  aggregate: z.enum(['mean', 'normalized']).default('mean'),
  /**
   * What the recurrent decoder's messages read: `hidden` = the nodes' previous hidden states
   * (released: the message into i for predicting step t + 1 then carries the senders' values
   * only up to t − 1, so a lag-1 effect j → i cannot flow through the edge); `hidden-input` =
   * also the nodes' current values, so it can; `own-lags` = the sender's own last
   * `messageLags` values instead of its hidden state (the receiver side keeps its hidden
   * state). With `hidden`, j's state already holds what every other node sent j, so with a
   * full graph the past of any node reaches i through any edge and no single z_ij is needed;
   * with `own-lags`, the past of j reaches i only through z_ij (and through true chains
   * j → k → i in the data), which is Granger's definition, and carry-over beyond the lags
   * lives in i's own recurrence.
   */
  messages: z.enum(['hidden', 'hidden-input', 'own-lags']).default('hidden'),
  /**
   * `embedding`: the decoder's first message layer adds a learned vector per sender node, so
   * the message from j can depend on which node j is (node n is the same channel in every
   * shop) and not only on its series; `none`: released — one message function for every
   * sender, so two channels with alike scaled spends send alike messages and a rollout
   * credits them alike, whatever their true effects (README, "Fit your own data").
   */
  senderIdentity: z.enum(['none', 'embedding']).default('none'),
  /** Sender lags of `messages: own-lags`. */
  messageLags: z.int().min(1).default(3),
  /**
   * What the recurrent decoder's output MLP predicts: the next value itself (`direct`,
   * released) or its change from the current input (`residual`, as NRI's decoders do), so an
   * untrained decoder starts at persistence instead of at a constant.
   */
  output: z.enum(['direct', 'residual']).default('direct'),
  /** GRU candidate non-linearity: `sigmoid` as in the released code, `tanh` as in a textbook GRU. */
  candidate: z.enum(['sigmoid', 'tanh']).default('sigmoid'),
  /** Gumbel-softmax temperature τ. */
  tau: z.number().gt(0).default(0.5),
  /** Edges fed to the decoder at evaluation: a soft Gumbel sample (released), a hard one, or q itself. */
  evalEdges: z.enum(['soft', 'hard', 'mean']).default('soft'),
  /** Straight-through hard Gumbel samples in training instead of soft ones. */
  hardTraining: z.boolean().default(false),
  /** KL weight λ of the ELBO. */
  klWeight: z.number().min(0).default(100),
  /** Edge prior: `uniform` (released) or `sparse` with edge probability `priorEdge`. */
  prior: z.enum(['uniform', 'sparse']).default('uniform'),
  priorEdge: z.number().gt(0).lt(1).default(0.2),
  /** Variance of the Gaussian likelihood of the NLL. */
  nllVariance: z.number().gt(0).default(5e-7),
  /**
   * Per-node scaling of each shop's series, fitted on what the method sees: `none` (the
   * released data are already scaled), `max` (divide by the largest |value|: keeps zero
   * spend at zero, which the Hill curve needs) or `standard`.
   */
  scale: z.enum(['none', 'max', 'standard']).default('max'),
  /** BatchNorm statistics at evaluation: per shop (what B = 1 training sees) or running averages (PyTorch eval). */
  evalNorm: z.enum(['shop', 'running']).default('shop'),
  dropout: z.number().min(0).lt(1).default(0),
  learningRate: z.number().gt(0).default(5e-4),
  lrDecayEvery: z.int().min(1).default(200),
  lrDecayFactor: z.number().gt(0).max(1).default(0.5),
  /** Global gradient-norm clip; 0 = none (released). */
  clipNorm: z.number().min(0).default(0),
  /**
   * Train on windows of this many steps, one random crop per shop and epoch (0 = the whole
   * series, as released). Bounds the cost per shop on long series; the encoder then reads
   * windows of this length (less the rollout with `encoderWindow: history`).
   */
  trainWindow: z.int().min(0).default(0),
  /**
   * Random crops of `trainWindow` steps taken from each training shop per epoch (with
   * `trainWindow` > 0). A batch of B crops costs about what one crop costs on this backend
   * (the per-op overhead of the T-step recurrence dominates), so on long series several crops
   * per shop give each gradient step more data at little cost.
   */
  windowsPerShop: z.int().min(1).default(1),
  /**
   * Adam steps per epoch; 0 = one pass over the training shops (each shop's `windowsPerShop`
   * crops, in batches of `batchSize`). A pass's length grows with the number of shops, so the
   * same `epochs` give a one-shop dataset a tenth of a ten-shop one's steps. A positive value
   * fixes the budget instead: each epoch takes this many batches of `batchSize` crops, the
   * shops drawn from fresh shuffles of the pass, so every shop is cropped equally often (±1).
   */
  stepsPerEpoch: z.int().min(0).default(0),
  /**
   * Semi-amortized inference (Kim et al., "Semi-Amortized Variational Autoencoders", ICML
   * 2018): after the encoder's one pass, each scored shop's edge logits take this many Adam
   * steps on that shop's own one-step ELBO, the trained decoder frozen; the graph scores and
   * the forecasts then use the refined logits. Each step reads `refineCrops` random crops of
   * `trainWindow` steps (the whole series if 0) of the shop. 0 = the encoder's logits
   * (released). Measured (README): the per-shop logits move toward the shop's own edges.
   */
  refineSteps: z.int().min(0).default(0),
  /**
   * The graph scores: `epochs` (default), the mean edge probability over the encoder's states at
   * the end of every epoch up to the kept best one, a snapshot ensemble of the training
   * trajectory; or `last`, the kept encoder's alone (released). The released encoder's edge
   * posteriors saturate within tens of steps and its ranking then jumps between plateaus; the
   * trajectory's mean holds (README, "Why the graph decays" and "`graphAverage: epochs` becomes
   * the default", session 13). It needs epochs short enough to sample the trajectory (tens of
   * steps on the authors' arrays: `stepsPerEpoch`). Forecasts use the kept encoder
   * either way; under `refineSteps` the refinement starts from the mean graph, and the graph
   * scores and forecasts read the refined logits.
   */
  graphAverage: z.enum(['last', 'epochs']).default('epochs'),
  /** Adam learning rate of `refineSteps`. */
  refineRate: z.number().gt(0).default(0.2),
  /** Crops per shop and step of `refineSteps`. */
  refineCrops: z.int().min(1).default(4),
  epochs: z.int().min(1).default(30),
  /**
   * Epochs in which the encoder (and `edgePrior: pair`'s logits) learn; after them it is frozen
   * and only the decoder and the saturation module train on, over the graph the encoder then
   * infers. 0 = every epoch (released). Longer joint training trades the graph for the forecast
   * (README); freezing the encoder keeps the graph of its last epoch while the forecast improves.
   * (Its BatchNorm running averages, read only under `evalNorm: running`, still follow the batches.)
   */
  encoderEpochs: z.int().min(0).default(0),
  batchSize: z.int().min(1).default(16),
  /**
   * Data-parallel training: each batch is split into this many parts (at most one shop each
   * when the batch is smaller), whose gradients are computed at once, one part on the main
   * thread and each other in a worker thread with its own tfjs, then averaged. The same
   * computation as 1 thread up to float rounding (the sums run in another order); needs
   * `dropout: 0`. Only training is split. Pointless beyond the machine's cores, and it adds to
   * the experiment runner's `--workers` processes rather than sharing them.
   */
  threads: z.int().min(1).max(64).default(1),
  /**
   * Independent trainings whose graph probabilities and forecasts are averaged (a deep ensemble:
   * Lakshminarayanan et al., NeurIPS 2017); member k trains from seed + 10007·k, so member 0 is
   * the plain run and `ensemble: 1` changes nothing. On the authors' arrays whether one training
   * finds the graph is decided by its initialisation, not by the objective (README, "One
   * initialisation in three misses the graph"); the average over members does not hinge on one.
   * Costs K trainings. `run` only: a `fit` model folder holds one model.
   */
  ensemble: z.int().min(1).max(32).default(1),
  /** Fraction of the training shops held out for early stopping on the validation ELBO. */
  valFraction: z.number().min(0).lt(1).default(0.2),
  /** Epochs without a better validation ELBO before stopping; 0 = never stop early. */
  patience: z.int().min(0).default(10),
});

export type CausalmmmOptions = z.output<typeof causalmmmOptions>;
