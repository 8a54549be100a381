"""What differs between two models or two training settings, in words."""

from workbench.core.changes import model_changes, summary, training_changes
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig


def _mlp(units=128, dropout=False):
    layers = [LayerSpec.create("Flatten"), LayerSpec.create("Dense", units=units)]
    if dropout:
        layers.append(LayerSpec.create("Dropout", rate=0.2))
    layers.append(LayerSpec.create("Dense", units=10, activation="softmax"))
    return ModelSpec((28, 28), layers).to_dict()


def test_model_changes_name_the_layer_parameter_and_both_values():
    assert model_changes(_mlp(), _mlp()) == []
    assert model_changes(_mlp(128), _mlp(64)) == ["Dense units 128 → 64"]
    assert model_changes(_mlp(), _mlp(dropout=True)) == ["+ Dropout"]
    assert model_changes(_mlp(dropout=True), _mlp(64)) == ["Dense units 128 → 64", "− Dropout"]
    other = ModelSpec((28, 28, 1), ModelSpec.from_dict(_mlp()).layers).to_dict()
    assert model_changes(_mlp(), other) == ["input 28×28 → 28×28×1"]


def test_training_changes_read_the_optimizer_config():
    a = TrainConfig().to_dict()
    b = TrainConfig(learning_rate=0.01, batch_size=64).to_dict()
    assert training_changes(a, b) == ["learning rate 0.001 → 0.01", "batch size 32 → 64"]
    assert training_changes(a, a) == []
    assert training_changes(None, b) == []


def test_summary_says_how_many_more():
    assert summary([]) == ""
    assert summary(["a", "b", "c", "d", "e"], limit=2) == "a, b and 3 more"
