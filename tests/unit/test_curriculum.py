import pytest

from schoolhouse.lessons.curriculum import StorySampler
from schoolhouse.prompt_files import (
    POS,
    CurriculumError,
    load_features,
    load_template,
    load_vocabulary,
)


def sampler(seed=7, **kw):
    template = load_template("story", StorySampler.REQUIRED)
    return StorySampler(load_vocabulary(), load_features(), template, seed, **kw)


def test_packaged_vocabulary_is_a_child_vocabulary_split_by_part_of_speech():
    vocab = load_vocabulary()
    assert 1400 <= len(vocab) <= 1600
    assert all(len(vocab.words[p]) > 100 for p in POS)
    assert "dog" in vocab.words["noun"] and "jump" in vocab.words["verb"]
    assert "happy" in vocab.words["adjective"]
    assert not {"the", "at", "ate", "children"} & {w for ws in vocab.words.values() for w in ws}
    # words a 3-4-year-old does not know, or not in that part of speech
    late = {"view", "suffer", "million", "income", "avenue", "attend", "intend", "southern"}
    assert not late & {w for ws in vocab.words.values() for w in ws}
    assert not {"junk", "tunnel", "except"} & set(vocab.words["verb"])
    assert not {"net", "due", "sixth", "major"} & set(vocab.words["adjective"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("words,pos\ndog,noun\n", ":1: expected a header"),
        ("word,pos\ndog,noun\nrun,verbb\n", ":3: part of speech 'verbb'"),
        (
            "word,pos\ndog,noun\nrun,verb\nred,adjective\ndog,noun\n",
            ":5: 'dog' already listed on line 2",
        ),
        ("word,pos\nDog,noun\n", ":2: 'Dog' is not a lowercase word"),
        ("word,pos\ndog\n", ":2: expected 'word,pos'"),
        ("word,pos\ndog,noun\n", "no words for verb, adjective"),
    ],
)
def test_corrupt_vocabulary_names_file_and_line(tmp_path, content, message):
    path = tmp_path / "vocab.csv"
    path.write_text(content)
    with pytest.raises(CurriculumError, match=str(path)) as err:
        load_vocabulary(path)
    assert message in str(err.value)


def test_vocabulary_that_is_not_utf8(tmp_path):
    path = tmp_path / "vocab.csv"
    path.write_bytes(b"word,pos\n\xff\xfe,noun\n")
    with pytest.raises(CurriculumError, match="not UTF-8"):
        load_vocabulary(path)


def test_same_seed_same_prompts_in_any_order():
    a, b = sampler(7), sampler(7)
    forward = [a.sample(i) for i in range(50)]
    backward = [b.sample(i) for i in reversed(range(50))][::-1]
    assert forward == backward
    assert [p.text for p in forward] != [sampler(8).sample(i).text for i in range(50)]


def test_prompts_are_diverse_and_carry_their_constraints():
    s = sampler(3)
    prompts = [s.sample(i) for i in range(200)]
    assert len({tuple(p.words.values()) for p in prompts}) == 200
    for p in prompts[:20]:
        for pos, word in p.words.items():
            assert word in s.vocabulary.words[pos]
            assert f'"{word}"' in p.text
        for feature in p.features:
            assert feature.instruction in p.text
    counts = {len(p.features) for p in prompts}
    assert counts == {0, 1, 2}


def test_template_variables_are_checked_at_load(tmp_path):
    (tmp_path / "missing.jinja2").write_text("Use {{ noun }} and {{ verb }}.")
    with pytest.raises(CurriculumError, match=r"never uses \['adjective', 'features', 'opening'\]"):
        load_template("missing", StorySampler.REQUIRED, tmp_path)
    (tmp_path / "extra.jinja2").write_text(
        "{{ noun }}{{ verb }}{{ adjective }}{{ features }}{{ opening }}{{ colour }}"
    )
    with pytest.raises(CurriculumError, match=r"unknown variables \['colour'\]"):
        load_template("extra", StorySampler.REQUIRED, tmp_path)
    (tmp_path / "broken.jinja2").write_text("line one\n{{ noun ")
    with pytest.raises(CurriculumError, match=r"broken.jinja2:2"):
        load_template("broken", StorySampler.REQUIRED, tmp_path)


def test_features_file_errors(tmp_path):
    path = tmp_path / "f.json"
    path.write_text("{not json")
    with pytest.raises(CurriculumError, match="not valid JSON"):
        load_features(path)
    path.write_text(
        '{"features": [{"name": "a", "instruction": "x"}, {"name": "a", "instruction": "y"}]}'
    )
    with pytest.raises(CurriculumError, match=r"features\[1\] repeats the name 'a'"):
        load_features(path)


def test_openings_vary_and_can_be_turned_off():
    s = sampler(5, openings=load_features(key="openings"))
    prompts = [s.sample(i) for i in range(100)]
    names = {p.opening.name if p.opening else None for p in prompts}
    assert None in names and len(names) >= 6
    for p in prompts:
        if p.opening:
            assert p.opening.instruction in p.text
    assert all(sampler(5).sample(i).opening is None for i in range(20))
