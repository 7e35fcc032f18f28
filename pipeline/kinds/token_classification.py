"""Token classification (CoNLL-2003, WikiANN NER): words are split into sub-tokens, each word's
label sits on its first sub-token (the others are ignored by the loss, -100), and the word's
prediction is read there. Entity-level F1 as seqeval's default (conlleval) mode computes it,
over every word of every sentence: words cut off by max_seq_len are predicted "O"."""

from __future__ import annotations

import torch
from transformers import AutoModelForTokenClassification

from pipeline.kinds.base import Encoded, Kind, mask, pad, random_ids, subset
from pipeline.metrics_kinds import seqeval_f1
from pipeline.models import load_model

IGNORE = -100  # the label of non-first sub-tokens and special tokens (ignored by the loss)


class TokenClassification(Kind):
    name = "token_classification"

    def columns(self, task):
        return ["tokens", "ner_tags"]

    def load_model(self, model_name, task, seed):
        return load_model(model_name, task.num_labels, seed=seed,
                          auto_class=AutoModelForTokenClassification)

    def encode(self, tokenizer, task, columns, max_len, limit, seed):
        order = subset(len(columns["tokens"]), limit, seed)
        words = [columns["tokens"][i] for i in order]
        tags = [columns["ner_tags"][i] for i in order]
        enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=max_len)
        labels, first_tokens = [], []
        for row, sentence_tags in enumerate(tags):
            word_ids = enc.word_ids(row)
            row_labels, firsts, previous = [], [], None
            for position, word in enumerate(word_ids):
                is_first = word is not None and word != previous
                row_labels.append(sentence_tags[word] if is_first else IGNORE)
                if is_first:
                    firsts.append(position)
                previous = word
            labels.append(row_labels)
            first_tokens.append(firsts)  # position of word k's first sub-token
        types = enc.get("token_type_ids") or [[0] * len(ids) for ids in enc["input_ids"]]
        gold = [[task.label_names[t] for t in sentence] for sentence in tags]
        return Encoded({"input_ids": enc["input_ids"], "token_type_ids": types, "labels": labels},
                       [len(ids) for ids in enc["input_ids"]],
                       refs={"first_tokens": first_tokens, "gold": gold})

    def collate(self, data, idx, pad_id):
        ids = [data.rows["input_ids"][i] for i in idx]
        return {"input_ids": pad(ids, pad_id),  # [batch, seq]
                "token_type_ids": pad([data.rows["token_type_ids"][i] for i in idx], 0),
                "attention_mask": mask(ids),
                "labels": pad([data.rows["labels"][i] for i in idx], IGNORE)}

    def predict(self, model, inputs):
        tags = model(**inputs).logits.argmax(-1).cpu().numpy()  # [batch, seq]
        return list(tags)

    def score(self, task, data, outputs):
        predicted = []
        for row, tags in enumerate(outputs):
            firsts, n_words = data.refs["first_tokens"][row], len(data.refs["gold"][row])
            words = [task.label_names[int(tags[p])] for p in firsts]
            predicted.append(words + ["O"] * (n_words - len(words)))  # truncated words
        return seqeval_f1(predicted, data.refs["gold"])

    def random_batch(self, model, seq_len, batch_size, device):
        g = torch.Generator().manual_seed(0)
        ids = random_ids(model, (batch_size, seq_len), g)
        labels = torch.randint(0, model.config.num_labels, (batch_size, seq_len), generator=g)
        batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": labels}
        return {k: v.to(device) for k, v in batch.items()}
