"""The model: the vocabulary and encoding, the network, the optimizer, pretrained vectors.

* :mod:`.tokens` (no TensorFlow): text as the vocabulary sees it, in plain Python;
* :mod:`.hyperparameters` (no TensorFlow): what a network is rebuilt from;
* :mod:`.vocabulary`: fitting the vocabularies and encoding texts into model inputs;
* :mod:`.network`: building the Keras model and running it (:class:`~.network.Inference`);
* :mod:`.optimizer`: Adam with sparse updates for the embedding tables;
* :mod:`.vectors`: reading pretrained word vectors.

Importing this package imports nothing heavy; the modules that need TensorFlow import it themselves.
"""
