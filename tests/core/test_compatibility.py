"""The model's output against the dataset's labels and the loss, checked while editing (18.3)."""

from workbench.core.compatibility import check_output, output_problem
from workbench.core.datasets import load_dataset
from workbench.core.inspect import inspect_model
from workbench.core.spec import LayerSpec, ModelSpec, TrainConfig


def test_output_checks_in_plain_words():
    sparse, categorical = "sparse_categorical_crossentropy", "categorical_crossentropy"
    assert output_problem((10,), sparse, "classification", 10) is None
    assert output_problem((12,), sparse, "classification", 10) is None  # spare outputs train
    assert "one score per class" in output_problem((13, 13, 10), sparse, "classification", 10)
    assert "10 classes" in output_problem((5,), sparse, "classification", 10)
    assert "10 classes" in output_problem((12,), categorical, "classification", 10)
    assert output_problem((1,), "binary_crossentropy", "classification", 2) is None
    assert "one output" in output_problem((2,), "binary_crossentropy", "classification", 2)
    assert output_problem((10,), "mean_squared_error", "classification", 10) is None
    assert output_problem((1,), "mean_squared_error", "regression", 0) is None
    assert "one number" in output_problem((5,), "mean_squared_error", "regression", 0)
    assert output_problem((3,), "mean_squared_error", "regression", 0, (3,)) is None
    assert "3 numbers" in output_problem((1,), "mean_squared_error", "regression", 0, (3,))
    assert output_problem(None, sparse, "classification", 10) is None  # unbuildable: own error


def test_the_fix_is_flatten_before_the_first_dense_that_gets_an_image():
    L = LayerSpec.create
    spec = ModelSpec((28, 28), [L("Reshape", target_shape=[28, 28, 1]), L("Conv2D"),
                                L("MaxPooling2D"), L("Dense", units=10, activation="softmax")])
    report = inspect_model(spec)
    assert report.ok and report.output_shape == (13, 13, 10)
    dataset = load_dataset("random-classes", seed=0)
    problem = check_output(spec, report, TrainConfig(), dataset)
    assert problem is not None and problem.fix_index == 3
    assert problem.fix.class_name == "Flatten"
    assert "Insert Flatten (or GlobalAveragePooling2D) before layer 4" in problem.message
    spec.layers.insert(problem.fix_index, problem.fix)
    assert check_output(spec, inspect_model(spec), TrainConfig(), dataset) is None
