"""The learned ranker's training (docs/ranker.md): the builder cuts a sample of shoppers' logs at a time point,
asks protos/ranker's question on the part before the cut and labels it with what they did after.

  cut.py      where a shopper's log is cut (shared with `tailor evaluate`'s splits)
  lists.py    the training lists: the item models of the events before the cut, each shopper's history,
              candidates, feature rows and graded labels
  train.py    LightGBM lambdarank with early stopping, validation against simple orders, feature gains
"""
