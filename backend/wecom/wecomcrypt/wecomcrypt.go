// Package wecomcrypt is WeCom's callback crypto (企业微信 回调加解密): the msg_signature over the token,
// timestamp, nonce and ciphertext, and AES-256-CBC with the key from the EncodingAESKey, PKCS#7 padding to
// 32-byte blocks, and a plaintext of 16 random bytes, a 4-byte big-endian length, the message and the
// receive id (the corp id). Decrypt checks all of it strictly; Encrypt is what the fake WeCom sender uses.
package wecomcrypt

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"sort"
	"strings"
)

// blockSize is WeCom's PKCS#7 block size (not AES's 16).
const blockSize = 32

// Errors Decrypt and Verify return; each is a refusal of the request, never a server fault.
var (
	ErrSignature = errors.New("wecomcrypt: msg_signature does not match")
	ErrDecrypt   = errors.New("wecomcrypt: ciphertext does not decrypt")
	ErrReceiveID = errors.New("wecomcrypt: receive id is not the corp id")
	ErrKey       = errors.New("wecomcrypt: EncodingAESKey must be 43 base64 characters")
)

// Crypter holds one tenant's callback token and key.
type Crypter struct {
	token string
	key   []byte
}

// New builds a crypter from the callback token and the 43-character EncodingAESKey.
func New(token, encodingAESKey string) (*Crypter, error) {
	if len(encodingAESKey) != 43 {
		return nil, ErrKey
	}
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, ErrKey
	}
	return &Crypter{token: token, key: key}, nil
}

// Signature is the msg_signature of (timestamp, nonce, encrypted): the hex SHA-1 of the four strings with
// the token, sorted and joined.
func (c *Crypter) Signature(timestamp, nonce, encrypted string) string {
	parts := []string{c.token, timestamp, nonce, encrypted}
	sort.Strings(parts)
	sum := sha1.Sum([]byte(strings.Join(parts, "")))
	return hex.EncodeToString(sum[:])
}

// Verify checks signature in constant time.
func (c *Crypter) Verify(signature, timestamp, nonce, encrypted string) error {
	want := c.Signature(timestamp, nonce, encrypted)
	if subtle.ConstantTimeCompare([]byte(strings.ToLower(signature)), []byte(want)) != 1 {
		return ErrSignature
	}
	return nil
}

// Decrypt checks the signature, decrypts encrypted and returns the message, which must have been sent to
// receiveID.
func (c *Crypter) Decrypt(signature, timestamp, nonce, encrypted, receiveID string) ([]byte, error) {
	if err := c.Verify(signature, timestamp, nonce, encrypted); err != nil {
		return nil, err
	}
	msg, rid, err := c.open(encrypted)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(rid), []byte(receiveID)) != 1 {
		return nil, ErrReceiveID
	}
	return msg, nil
}

func (c *Crypter) open(encrypted string) (msg []byte, receiveID string, err error) {
	ct, err := base64.StdEncoding.DecodeString(encrypted)
	if err != nil || len(ct) == 0 || len(ct)%blockSize != 0 {
		return nil, "", ErrDecrypt
	}
	pt := make([]byte, len(ct))
	cipher.NewCBCDecrypter(c.block(), c.key[:aes.BlockSize]).CryptBlocks(pt, ct)
	// PKCS#7 to 32-byte blocks, checked in full.
	pad := int(pt[len(pt)-1])
	if pad < 1 || pad > blockSize || pad > len(pt) {
		return nil, "", ErrDecrypt
	}
	for _, b := range pt[len(pt)-pad:] {
		if int(b) != pad {
			return nil, "", ErrDecrypt
		}
	}
	pt = pt[:len(pt)-pad]
	if len(pt) < 20 {
		return nil, "", ErrDecrypt
	}
	n := binary.BigEndian.Uint32(pt[16:20])
	if uint64(n) > uint64(len(pt)-20) {
		return nil, "", ErrDecrypt
	}
	return pt[20 : 20+n], string(pt[20+n:]), nil
}

func (c *Crypter) block() cipher.Block {
	b, err := aes.NewCipher(c.key)
	if err != nil {
		panic(err) // the key is 32 bytes by construction
	}
	return b
}

// Encrypt is WeCom's side: it encrypts msg for receiveID and returns the base64 ciphertext and its
// msg_signature for timestamp and nonce.
func (c *Crypter) Encrypt(msg []byte, receiveID, timestamp, nonce string) (encrypted, signature string) {
	var buf bytes.Buffer
	random := make([]byte, 16)
	if _, err := rand.Read(random); err != nil {
		panic("wecomcrypt: no randomness: " + err.Error())
	}
	buf.Write(random)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(msg)))
	buf.Write(msg)
	buf.WriteString(receiveID)
	pad := blockSize - buf.Len()%blockSize
	buf.Write(bytes.Repeat([]byte{byte(pad)}, pad))
	ct := make([]byte, buf.Len())
	cipher.NewCBCEncrypter(c.block(), c.key[:aes.BlockSize]).CryptBlocks(ct, buf.Bytes())
	encrypted = base64.StdEncoding.EncodeToString(ct)
	return encrypted, c.Signature(timestamp, nonce, encrypted)
}
